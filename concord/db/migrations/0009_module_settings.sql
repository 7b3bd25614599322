-- Settings of modules that have no column in guild_settings (a module added later declares its
-- settings and keeps them here, with no migration of its own): one JSON value per name.
CREATE TABLE module_settings (
    guild_id   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    PRIMARY KEY (guild_id, name)
);
