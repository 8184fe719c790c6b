"""Domain errors of the devices: views show them on the form or the dialog."""

from warehouse.exceptions import WarehouseError


class DeviceError(WarehouseError):
    """Base of the devices' errors; a WarehouseError so stock pages show them too."""


class IllegalTransition(DeviceError):
    def __init__(self, *, device, state_label: str, action_label: str):
        self.device = device
        super().__init__(f"{device} is {state_label}: “{action_label}” is not allowed.")


class DuplicateSerial(DeviceError):
    field = "serials"

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line


class InvalidStatus(DeviceError):
    field = "status"


class InvalidOwner(DeviceError):
    field = "party"


class InvalidDeviceLocation(DeviceError):
    field = "location"


class InvalidPartSource(InvalidDeviceLocation):
    """Where a part to install is taken from."""

    field = "source"


class InvalidPartDestination(InvalidDeviceLocation):
    """Where a part taken out of a device goes."""

    field = "destination"


class InvalidPart(DeviceError):
    field = "part"


class InvalidCharacteristics(DeviceError):
    field = None

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(f"{name}: {msg}" for name, msg in errors.items()))


class DuplicateElectronicId(DeviceError):
    field = "electronic_id"
