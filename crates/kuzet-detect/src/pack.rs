//! Kuzet's own rule pack: what an ISOC in Kazakhstan needs first — log clearing, audit policy changes, logging
//! silenced, new accounts and administrators, service-account misuse, password guessing and spraying — each rule
//! with the sample events it must and must not match (`kuzet rules test`). The files are under `rules/`.

/// The pack's files: (file name, Sigma YAML).
pub const BUILTIN_RULES: [(&str, &str); 12] = [
    (
        "linux_logging_stopped.yml",
        include_str!("../rules/linux_logging_stopped.yml"),
    ),
    (
        "linux_privileged_group_member_added.yml",
        include_str!("../rules/linux_privileged_group_member_added.yml"),
    ),
    (
        "linux_ssh_authentication_failure.yml",
        include_str!("../rules/linux_ssh_authentication_failure.yml"),
    ),
    (
        "linux_ssh_brute_force.yml",
        include_str!("../rules/linux_ssh_brute_force.yml"),
    ),
    (
        "windows_account_created.yml",
        include_str!("../rules/windows_account_created.yml"),
    ),
    (
        "windows_admin_group_member_added.yml",
        include_str!("../rules/windows_admin_group_member_added.yml"),
    ),
    (
        "windows_audit_policy_changed.yml",
        include_str!("../rules/windows_audit_policy_changed.yml"),
    ),
    (
        "windows_brute_force.yml",
        include_str!("../rules/windows_brute_force.yml"),
    ),
    (
        "windows_event_logging_stopped.yml",
        include_str!("../rules/windows_event_logging_stopped.yml"),
    ),
    (
        "windows_log_cleared.yml",
        include_str!("../rules/windows_log_cleared.yml"),
    ),
    (
        "windows_logon_failure.yml",
        include_str!("../rules/windows_logon_failure.yml"),
    ),
    (
        "windows_service_account_interactive_logon.yml",
        include_str!("../rules/windows_service_account_interactive_logon.yml"),
    ),
];

/// The pack as a rule set.
pub fn builtin_rules() -> crate::RuleSet {
    let mut set = crate::RuleSet::new();
    for (name, text) in BUILTIN_RULES {
        set.add_yaml(&format!("builtin:{name}"), text);
    }
    set
}
