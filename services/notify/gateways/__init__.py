"""Real provider adapters of notify: SMS (Aliyun, Tencent Cloud) and WeChat (WeCom group
robot, official-account template messages), each behind ``base.Gateway``."""
