//! ECS field names Kuzet code refers to by constant, so a typo is a compile error rather than a silent miss.
//! Parsers may set any other ECS name through [`crate::Fields`].

pub const TIMESTAMP: &str = "@timestamp";
pub const MESSAGE: &str = "message";
pub const TAGS: &str = "tags";

pub const EVENT_ID: &str = "event.id";
pub const EVENT_KIND: &str = "event.kind";
pub const EVENT_CATEGORY: &str = "event.category";
pub const EVENT_TYPE: &str = "event.type";
pub const EVENT_ACTION: &str = "event.action";
pub const EVENT_OUTCOME: &str = "event.outcome";
pub const EVENT_CODE: &str = "event.code";
pub const EVENT_MODULE: &str = "event.module";
pub const EVENT_DATASET: &str = "event.dataset";
pub const EVENT_PROVIDER: &str = "event.provider";
pub const EVENT_SEVERITY: &str = "event.severity";
pub const EVENT_CREATED: &str = "event.created";
pub const EVENT_INGESTED: &str = "event.ingested";
pub const EVENT_ORIGINAL: &str = "event.original";

pub const ORGANIZATION_ID: &str = "organization.id";

pub const HOST_NAME: &str = "host.name";
pub const HOST_HOSTNAME: &str = "host.hostname";
pub const HOST_IP: &str = "host.ip";

pub const SOURCE_IP: &str = "source.ip";
pub const SOURCE_PORT: &str = "source.port";
pub const SOURCE_ADDRESS: &str = "source.address";
pub const DESTINATION_IP: &str = "destination.ip";
pub const DESTINATION_PORT: &str = "destination.port";
pub const DESTINATION_ADDRESS: &str = "destination.address";

pub const USER_NAME: &str = "user.name";
pub const USER_ID: &str = "user.id";
pub const USER_DOMAIN: &str = "user.domain";
pub const USER_TARGET_NAME: &str = "user.target.name";
pub const GROUP_NAME: &str = "group.name";

pub const PROCESS_NAME: &str = "process.name";
pub const PROCESS_PID: &str = "process.pid";
pub const PROCESS_COMMAND_LINE: &str = "process.command_line";
pub const PROCESS_EXECUTABLE: &str = "process.executable";

pub const FILE_PATH: &str = "file.path";
pub const NETWORK_TRANSPORT: &str = "network.transport";
pub const NETWORK_PROTOCOL: &str = "network.protocol";
pub const URL_ORIGINAL: &str = "url.original";

pub const LOG_LEVEL: &str = "log.level";
pub const LOG_SYSLOG_FACILITY_CODE: &str = "log.syslog.facility.code";
pub const LOG_SYSLOG_FACILITY_NAME: &str = "log.syslog.facility.name";
pub const LOG_SYSLOG_SEVERITY_CODE: &str = "log.syslog.severity.code";
pub const LOG_SYSLOG_SEVERITY_NAME: &str = "log.syslog.severity.name";
pub const LOG_SYSLOG_PRIORITY: &str = "log.syslog.priority";
pub const LOG_SYSLOG_APPNAME: &str = "log.syslog.appname";
pub const LOG_SYSLOG_HOSTNAME: &str = "log.syslog.hostname";
pub const LOG_SYSLOG_PROCID: &str = "log.syslog.procid";
pub const LOG_SYSLOG_MSGID: &str = "log.syslog.msgid";
pub const LOG_SYSLOG_VERSION: &str = "log.syslog.version";
pub const LOG_SYSLOG_STRUCTURED_DATA: &str = "log.syslog.structured_data";

pub const OBSERVER_VENDOR: &str = "observer.vendor";
pub const OBSERVER_PRODUCT: &str = "observer.product";
pub const OBSERVER_TYPE: &str = "observer.type";
pub const OBSERVER_HOSTNAME: &str = "observer.hostname";

pub const WINLOG_CHANNEL: &str = "winlog.channel";
pub const WINLOG_EVENT_ID: &str = "winlog.event_id";
pub const WINLOG_PROVIDER_NAME: &str = "winlog.provider_name";
pub const WINLOG_COMPUTER_NAME: &str = "winlog.computer_name";
pub const WINLOG_RECORD_ID: &str = "winlog.record_id";
