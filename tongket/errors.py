"""The few exceptions tongket raises for broken configuration or environment.

Problems in a unit's workbook are never exceptions: they are `Issue` values (schemas.rules).
The CLI turns these into one clean line (`Lỗi: ...`) and exit code 1; a flow ends Failed
with the same message.
"""


class TongketError(Exception):
    """Base class: a problem the user can fix, with a message meant for them."""


class ConfigError(TongketError):
    """A configuration file or setting is missing or invalid."""


class RegistryError(TongketError):
    """The registry CSV of expected units is missing or invalid."""


class WarehouseBusyError(TongketError):
    """Another run is writing the warehouse and did not finish in time."""


class PublishError(TongketError):
    """The new warehouse failed its checks or could not replace the published one."""
