"""CloudTrail errors: one small class per code in botocore's ``cloudtrail`` model.

The code is the model's shape name (CloudTrail speaks JSON 1.1 only); the docstring is the
default message, after the model's description of the shape.
"""

from __future__ import annotations

from cipherpost.errors import AwsError

__all__ = [
    "CloudTrailError",
    "InvalidEventCategoryException",
    "InvalidEventSelectorsException",
    "InvalidLookupAttributesException",
    "InvalidMaxResultsException",
    "InvalidNextTokenException",
    "InvalidTimeRangeException",
    "InvalidTrailNameException",
    "TrailNotFoundException",
]


class CloudTrailError(AwsError):
    """A CloudTrail request failed."""


class InvalidLookupAttributesException(CloudTrailError):
    """Occurs when a lookup attribute is specified that is not valid."""

    code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(CloudTrailError):
    """Occurs if the timestamp values are not valid. Either the start time occurs after the
    end time, or the time range is outside the range of possible values."""

    code = "InvalidTimeRangeException"


class InvalidMaxResultsException(CloudTrailError):
    """This exception is thrown if the limit specified is not valid."""

    code = "InvalidMaxResultsException"


class InvalidNextTokenException(CloudTrailError):
    """A token that is not valid, or a token that was previously used in a request with
    different parameters."""

    code = "InvalidNextTokenException"


class InvalidEventCategoryException(CloudTrailError):
    """Occurs if an event category that is not valid is specified as a value of
    EventCategory."""

    code = "InvalidEventCategoryException"


class InvalidEventSelectorsException(CloudTrailError):
    """The event selectors are not valid."""

    code = "InvalidEventSelectorsException"


class InvalidTrailNameException(CloudTrailError):
    """The trail name is not valid."""

    code = "InvalidTrailNameException"


class TrailNotFoundException(CloudTrailError):
    """The trail does not exist."""

    code = "TrailNotFoundException"
