-- A second role whose members may approve or reject leave (a backup for the managers).
ALTER TABLE guild_settings ADD COLUMN approver_role_id INTEGER;
