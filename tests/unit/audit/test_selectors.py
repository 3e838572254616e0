"""Event selectors: validation and matching, basic and advanced (services/audit/selectors.py)."""

from __future__ import annotations

from typing import Any

import pytest

from cipherpost.services.audit.errors import InvalidEventSelectorsException
from cipherpost.services.audit.selectors import TrailConfig, may_select_data, selects, validate

from .conftest import ACCOUNT, REGION, kms_event, sns_publish_event

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:emr-topic"
MGMT = kms_event()  # readOnly Decrypt
WRITE = kms_event(operation="CreateKey")
DATA = sns_publish_event()


def _config(selectors: dict[str, Any], logging: bool = True) -> TrailConfig:
    basic, advanced = validate(selectors)
    return TrailConfig("t", logging, basic, advanced)


def test_default_trail_logs_management_not_data() -> None:
    config = TrailConfig("t")
    assert selects(config, MGMT) and selects(config, WRITE)
    assert not selects(config, DATA)


def test_stopped_trail_logs_nothing() -> None:
    assert not selects(TrailConfig("t", logging=False), MGMT)


@pytest.mark.parametrize(
    ("selector", "mgmt", "write", "data"),
    [
        pytest.param({"ReadWriteType": "ReadOnly"}, True, False, False, id="read-only"),
        pytest.param({"ReadWriteType": "WriteOnly"}, False, True, False, id="write-only"),
        pytest.param({"IncludeManagementEvents": False}, False, False, False, id="no-management"),
        pytest.param({"ExcludeManagementEventSources": ["kms.amazonaws.com"]}, False, False, False,
                     id="exclude-kms"),
        pytest.param({"DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}]}, True, True, True,
                     id="all-topics"),
        pytest.param({"DataResources": [{"Type": "AWS::SNS::Topic", "Values": [TOPIC]}]}, True, True, True,
                     id="one-topic"),
        pytest.param({"DataResources": [{"Type": "AWS::SNS::Topic", "Values": [TOPIC + "-other"]}]},
                     True, True, False, id="other-topic"),
        pytest.param({"DataResources": [{"Type": "AWS::SQS::Queue", "Values": ["arn:aws:sqs"]}]}, True, True, False,
                     id="queues-only"),
        pytest.param({"ReadWriteType": "ReadOnly", "DataResources": [
            {"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}]}, True, False, False, id="publish-is-a-write"),
    ],
)
def test_basic_selectors(selector: dict[str, Any], mgmt: bool, write: bool, data: bool) -> None:
    config = _config({"EventSelectors": [selector]})
    assert (selects(config, MGMT), selects(config, WRITE), selects(config, DATA)) == (mgmt, write, data)


@pytest.mark.parametrize(
    ("fields", "mgmt", "data"),
    [
        pytest.param([{"Field": "eventCategory", "Equals": ["Management"]}], True, False, id="management"),
        pytest.param([{"Field": "eventCategory", "Equals": ["Data"]},
                      {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]}], False, True, id="sns-data"),
        pytest.param([{"Field": "eventCategory", "Equals": ["Data"]},
                      {"Field": "resources.ARN", "StartsWith": [f"arn:aws:sns:{REGION}:"]},
                      {"Field": "eventName", "NotEquals": ["PublishBatch"]}], False, True, id="arn-prefix"),
        pytest.param([{"Field": "eventCategory", "Equals": ["Data"]},
                      {"Field": "resources.ARN", "NotEndsWith": ["emr-topic"]}], False, False, id="not-ends-with"),
        pytest.param([{"Field": "eventCategory", "Equals": ["Management"]},
                      {"Field": "readOnly", "Equals": ["false"]}], False, False, id="management-writes"),
    ],
)
def test_advanced_selectors(fields: list[dict[str, Any]], mgmt: bool, data: bool) -> None:
    config = _config({"AdvancedEventSelectors": [{"Name": "n", "FieldSelectors": fields}]})
    assert (selects(config, MGMT), selects(config, DATA)) == (mgmt, data)


@pytest.mark.parametrize(
    "selectors",
    [
        pytest.param({}, id="neither"),
        pytest.param({"EventSelectors": [{}], "AdvancedEventSelectors": [{}]}, id="both"),
        pytest.param({"EventSelectors": []}, id="empty"),
        pytest.param({"EventSelectors": [{}] * 6}, id="too-many"),
        pytest.param({"EventSelectors": [{"ReadWriteType": "Sometimes"}]}, id="read-write-type"),
        pytest.param({"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]},
                     id="unsupported-resource-type"),
        pytest.param({"EventSelectors": [{"DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["topic"]}]}]},
                     id="value-not-arn"),
        pytest.param({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}]},
                     id="advanced-without-category"),
        pytest.param({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "userIdentity.arn",
                                                                      "Equals": ["x"]}]}]}, id="advanced-field"),
        pytest.param({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory"}]}]},
                     id="advanced-no-operator"),
    ],
)
def test_invalid_selectors(selectors: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventSelectorsException):
        validate(selectors)


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        pytest.param({"EventSelectors": [{}]}, False, id="management-only"),
        pytest.param({"EventSelectors": [{"DataResources": [{"Type": "AWS::SQS::Queue", "Values": ["arn:aws:sqs"]}]}]},
                     True, id="basic-data"),
        pytest.param({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory",
                                                                      "Equals": ["Management"]}]}]},
                     False, id="advanced-management"),
        pytest.param({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory",
                                                                      "Equals": ["Data"]}]}]},
                     True, id="advanced-data"),
    ],
)
def test_may_select_data(selectors: dict[str, Any], expected: bool) -> None:
    assert may_select_data(_config(selectors)) is expected
    assert may_select_data(_config(selectors, logging=False)) is False
