sites = kit.accessible_resources(course.config, course.store)
confluence_entry = next(
    entry for entry in sites if any("confluence" in scope for scope in entry.scopes)
)
cloud_id = confluence_entry.cloud_id
cloud_id
