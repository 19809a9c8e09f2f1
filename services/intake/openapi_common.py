"""What intake's OpenAPI document and its Open311 part share: the forms of a phone and of
cleaned text, a case id, and the gathering of schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

PHONE_PATTERN = r"^(?:\+86|0086)?(?:1[3-9][0-9]{9}|0[0-9]{9,11})$"
PHONE_NOTE = (
    "A mainland mobile (1[3-9] and 9 digits) or landline (0 and 9 to 11 digits) number; "
    "spaces, dashes, parentheses and full-width digits are tolerated and removed."
)
TEXT_NOTE = (
    "Cleaned before it is measured: NFKC-normalised, control and zero-width characters "
    "removed, trimmed."
)
CASE_ID = {
    "type": "string",
    "pattern": "^[^/]+$",
    "description": "a case number intake gave, such as CF261121-7K3QX9",
}


class Components:
    """The schemas of the document, gathered as the answers name them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def answer(
        self,
        description: str,
        model: type[BaseModel] | None = None,
        schema: dict[str, Any] | None = None,
        media: str = "application/json",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"description": description}
        if model is not None:
            schema = self.ref(model)
        if schema is not None:
            body["content"] = {media: {"schema": schema}}
        return body
