"""The sandbox's one error type: a Binance-style answer the HTTP server turns into a JSON body."""


class ApiError(Exception):
    """A Binance-style error answer: HTTP status, error code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg
