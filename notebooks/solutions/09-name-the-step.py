steps = {
    "first": "exchange",  # the kit refused to send a spent code again
    "second": "callback",  # no error at all: a code came back
    "third": "resources",  # accessible-resources refused a revoked token
}
{name: kit.diagnose(failure).step for name, failure in failures.items()}
