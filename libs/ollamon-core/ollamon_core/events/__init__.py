"""Every event and message model of ollamon (pydantic v2, frozen, extra fields forbidden)."""

from ollamon_core.events.alert_management import (
    AlertAcknowledgement,
    AlertAcknowledgementReply,
    AlertAudit,
    AuditAction,
    RuleThreshold,
    SilencesQuery,
    SilencesReply,
    ThresholdsQuery,
    ThresholdsReply,
)
from ollamon_core.events.alerts import (
    AlertState,
    ModelScore,
    OllamaPerformanceAlert,
    Recommendation,
)
from ollamon_core.events.base import (
    Event,
    FrozenModel,
    ServiceName,
    Severity,
    default_host_label,
    new_event_id,
    utc_now,
)
from ollamon_core.events.control import (
    HealthCheckReply,
    HealthCheckRequest,
    Heartbeat,
    MonitoringAction,
    MonitoringControl,
    Silence,
    ThresholdUpdate,
)
from ollamon_core.events.notifications import (
    DeliveryOutcome,
    NotificationDelivery,
    ReceiverKind,
)
from ollamon_core.events.ollama import (
    CatalogModel,
    LifecycleChange,
    LoadedModel,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelsSnapshot,
)
from ollamon_core.events.requests import UNKNOWN_MODEL, OllamaModelMetrics
from ollamon_core.events.system import (
    GpuProcessSample,
    GpuSample,
    OllamaProcessSample,
    OllamaSystemMetrics,
)

__all__ = [
    "UNKNOWN_MODEL",
    "AlertAcknowledgement",
    "AlertAcknowledgementReply",
    "AlertAudit",
    "AlertState",
    "AuditAction",
    "CatalogModel",
    "DeliveryOutcome",
    "Event",
    "FrozenModel",
    "GpuProcessSample",
    "GpuSample",
    "HealthCheckReply",
    "HealthCheckRequest",
    "Heartbeat",
    "LifecycleChange",
    "LoadedModel",
    "ModelLifecycleEvent",
    "ModelScore",
    "MonitoringAction",
    "MonitoringControl",
    "NotificationDelivery",
    "OllamaHealth",
    "OllamaModelMetrics",
    "OllamaModelsSnapshot",
    "OllamaPerformanceAlert",
    "OllamaProcessSample",
    "OllamaSystemMetrics",
    "ReceiverKind",
    "Recommendation",
    "RuleThreshold",
    "ServiceName",
    "Severity",
    "Silence",
    "SilencesQuery",
    "SilencesReply",
    "ThresholdUpdate",
    "ThresholdsQuery",
    "ThresholdsReply",
    "default_host_label",
    "new_event_id",
    "utc_now",
]
