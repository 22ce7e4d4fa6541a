"""How the OpenAPI document describes errors: RFC 9457 problem details, per status code.

Every error the gateway sends is `application/problem+json` (problems.py); each operation
lists the statuses it can answer with this one schema, with what each means there.
"""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One field a request got wrong."""

    message: str = Field(description="What is wrong with it")
    key: str | None = Field(default=None, description="The field, parameter or header")
    source: str | None = Field(
        default=None, description="Where it was: `body`, `query`, `path` or `header`"
    )


class ProblemDetails(BaseModel):
    """An error as RFC 9457 problem details (`application/problem+json`).

    `type` is absent (`about:blank`: the status says it all) and so is `instance`; the
    members after `detail` are the extras the gateway adds where they apply.
    """

    model_config = ConfigDict(extra="allow", title="ProblemDetails")

    type: str = Field(
        default="about:blank", description="A URI naming the kind of problem (absent: none)"
    )
    title: str = Field(description="The status's phrase, e.g. `Service Unavailable`")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong, for a person")
    instance: str | None = Field(default=None, description="This occurrence (not sent)")
    errors: list[FieldError] | None = Field(
        default=None, description="400 of a request that did not validate: each field's error"
    )
    service: str | None = Field(
        default=None, description="503: the service that did not answer (storage, probe, ...)"
    )
    subject: str | None = Field(default=None, description="503: the NATS subject it was asked on")
    rule: str | None = Field(default=None, description="422 of a threshold: the rule")
    minimum: float | None = Field(default=None, description="422 of a threshold: its lower bound")
    maximum: float | None = Field(default=None, description="422 of a threshold: its upper bound")


# What each status means on this API, unless an operation says more.
PROBLEM_MEANINGS: dict[int, str] = {
    400: (
        "The request did not validate (a parameter, the body, the JSON itself), or the "
        "`Host` header is not one the gateway goes by"
    ),
    401: "`OLLAMON_API_TOKEN` is set and the `Authorization: Bearer` token is missing or wrong",
    403: "A web page of another origin made the browser send this state change",
    404: "Nothing is there (the named item, or no data for the model or host)",
    409: "The file exists already: exports never overwrite",
    413: "The body is over the gateway's size limit, or the export over its row limit",
    415: "A state change's body must be `Content-Type: application/json`",
    422: "Understood and refused: alerting did not take the change",
    502: "Another service answered with an invalid reply",
    503: (
        "A service the answer needs did not answer in time (named in `service`); "
        "`Retry-After` says when to try again"
    ),
    507: "The export folder is at its quota",
}


def problem_responses(*codes: int, **meanings: str) -> dict[int, ResponseSpec]:
    """Problem-details responses for `codes`; `meanings` (`e404="..."`) override the text."""
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=meanings.get(f"e{code}", PROBLEM_MEANINGS[code]),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for code in codes
    }


# The statuses of every read that asks storage (a `host` it has no event of is a 404).
STORAGE_READ = (400, 404, 503)
# The statuses of every state change, before it does anything.
STATE_CHANGE = (400, 401, 403, 413, 415)
