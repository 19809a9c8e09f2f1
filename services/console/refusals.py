"""What the console refuses to do, in its own words; the entrypoints answer each with its HTTP
status (``services.console.answers``). Sign-in failures are ``domain.AuthError``."""

from __future__ import annotations


class Refusal(Exception):
    """A request the console will not carry out; the message says why, to the user."""


class NotFound(Refusal):
    """Nothing there, or nothing within the user's reach: the same answer, so that a case
    outside one's reach does not exist."""


class NotPermitted(Refusal):
    """The user's role may not do this."""


class Clash(Refusal):
    """The request contradicts what is stored (a user that exists, removing oneself)."""


class BadField(Refusal):
    """A field of the request that cannot be used as it is."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class BadFields(Refusal):
    """Fields of the request that cannot be used as they are, each with its reason."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))
        self.problems = problems


class TooManyLogins(Refusal):
    """Too many failed logins of this user or from this address; ``wait`` seconds to go."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many failed logins; try again in {int(wait) + 1} s")
        self.wait = wait
