"""Notify: tells people what they must do, by SMS and WeChat, once."""
