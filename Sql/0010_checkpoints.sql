-- Signed checkpoints of the event log (issue 19; docs/export-format.md, "Signed checkpoints").
--
-- A checkpoint is the log's head (global position and that event's hash) at a time,
-- signed with the operator's Ed25519 checkpoint key, like a Certificate Transparency
-- signed tree head. Published, it lets anyone show later that a log (live or exported)
-- is the one that was checkpointed, even against a superuser who rewrote the past and
-- recomputed every hash.
--
-- The private key never reaches the database: signing happens in the client (`sbie
-- checkpoint sign --key FILE`, or the daemon run with `--checkpoint-key FILE`), which
-- records the signed checkpoint through record_checkpoint(). Who may record: the
-- daemon's login (workflow_daemon) and registrar logins (the register's operator).
-- PostgreSQL cannot check an Ed25519 signature, so the function checks everything
-- else (the head is in the log, the time is the database's); readers check the
-- signature with the operator's published public key.
--
-- Errors (SQLSTATE):
--   CP001 the checkpoint's head is not in the log (no event at that position with that hash).
--   CP002 signed_at is not the database's time (more than 5 minutes off clock_timestamp()).
--   CP003 signed_checkpoints is append-only: UPDATE, DELETE and TRUNCATE are refused.
--   22023 malformed arguments (lengths, reason).
--
-- (Named signed_checkpoints: projection_checkpoints, from 0003, are something else.)

CREATE TABLE signed_checkpoints (
    checkpoint_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The head: the last global position covered, and its event's hash.
    global_position bigint      NOT NULL CHECK (global_position >= 1),
    hash            bytea       NOT NULL CHECK (length(hash) = 32),
    -- The signed time (the database's clock when the signer read the head).
    signed_at       timestamptz NOT NULL,
    -- Ed25519 public key (32 bytes) and signature (64 bytes) over the message
    -- 'sbie-checkpoint/1\n<position>\n<hash hex>\n<signed_at YYYY-MM-DDTHH:MM:SS.ffffffZ>\n'.
    public_key      bytea       NOT NULL CHECK (length(public_key) = 32),
    signature       bytea       NOT NULL CHECK (length(signature) = 64),
    -- Why it was signed: manual (sbie checkpoint sign), scheduled (daily), board_decision.
    reason          text        NOT NULL CHECK (reason IN ('manual', 'scheduled', 'board_decision')),
    recorded_at     timestamptz NOT NULL,
    recorded_by     name        NOT NULL
);
COMMENT ON TABLE signed_checkpoints IS
    'Signed heads of the event log (Ed25519). Append-only; written only by record_checkpoint().';
CREATE INDEX signed_checkpoints_key_idx ON signed_checkpoints (public_key, signed_at DESC);

CREATE FUNCTION signed_checkpoints_are_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'signed_checkpoints is append-only: % is not allowed', TG_OP USING ERRCODE = 'CP003';
END
$$;
CREATE TRIGGER signed_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON signed_checkpoints
    FOR EACH ROW EXECUTE FUNCTION signed_checkpoints_are_immutable();
CREATE TRIGGER signed_checkpoints_no_truncate BEFORE TRUNCATE ON signed_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION signed_checkpoints_are_immutable();

-- record_checkpoint(position, hash, signed_at, public_key, signature, reason) appends one
-- signed checkpoint and returns its row. The head must be in the log (checked in the same
-- statement as the insert) and signed_at within 5 minutes of the database's clock.
CREATE FUNCTION record_checkpoint(
    p_position bigint, p_hash bytea, p_signed_at timestamptz, p_public_key bytea, p_signature bytea, p_reason text
) RETURNS signed_checkpoints
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_row signed_checkpoints;
BEGIN
    IF p_position IS NULL OR p_position < 1 OR p_hash IS NULL OR pg_catalog.length(p_hash) <> 32
       OR p_signed_at IS NULL OR p_public_key IS NULL OR pg_catalog.length(p_public_key) <> 32
       OR p_signature IS NULL OR pg_catalog.length(p_signature) <> 64
       OR p_reason IS NULL OR p_reason NOT IN ('manual', 'scheduled', 'board_decision') THEN
        RAISE EXCEPTION 'record_checkpoint: needs a position >= 1, a 32-byte hash, signed_at, a 32-byte public key, '
            'a 64-byte signature and a reason (manual, scheduled, board_decision)' USING ERRCODE = '22023';
    END IF;
    IF p_signed_at NOT BETWEEN pg_catalog.clock_timestamp() - interval '5 minutes'
                           AND pg_catalog.clock_timestamp() + interval '5 minutes' THEN
        RAISE EXCEPTION 'record_checkpoint: signed_at % is not the database''s time (now %)',
            p_signed_at, pg_catalog.clock_timestamp() USING ERRCODE = 'CP002';
    END IF;
    INSERT INTO signed_checkpoints (global_position, hash, signed_at, public_key, signature, reason,
                                    recorded_at, recorded_by)
    SELECT p_position, p_hash, p_signed_at, p_public_key, p_signature, p_reason,
           pg_catalog.clock_timestamp(), session_user
    FROM events e WHERE e.global_position = p_position AND e.hash = p_hash
    RETURNING * INTO v_row;
    IF v_row.checkpoint_id IS NULL THEN
        RAISE EXCEPTION 'record_checkpoint: the log has no event at position % with hash %',
            p_position, pg_catalog.encode(p_hash, 'hex')
            USING ERRCODE = 'CP001', DETAIL = pg_catalog.format('position=%s', p_position);
    END IF;
    RETURN v_row;
END
$$;

-- Checkpoints are part of the record (0007): the table and its trigger function belong to
-- workflow_record, which no login holds, so only a superuser can disable the trigger.
-- record_checkpoint (SECURITY DEFINER, owned by workflow_owner) inserts and reads back.
ALTER TABLE signed_checkpoints OWNER TO workflow_record;
ALTER FUNCTION signed_checkpoints_are_immutable() OWNER TO workflow_record;
ALTER FUNCTION record_checkpoint(bigint, bytea, timestamptz, bytea, bytea, text) OWNER TO workflow_owner;
GRANT SELECT, INSERT ON signed_checkpoints TO workflow_owner;

REVOKE ALL ON signed_checkpoints FROM PUBLIC;
REVOKE ALL ON FUNCTION signed_checkpoints_are_immutable() FROM PUBLIC;
REVOKE ALL ON FUNCTION record_checkpoint(bigint, bytea, timestamptz, bytea, bytea, text) FROM PUBLIC;

-- Checkpoints are public statements: every role reads them (sbie status shows the latest).
GRANT SELECT ON signed_checkpoints TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;
GRANT EXECUTE ON FUNCTION record_checkpoint(bigint, bytea, timestamptz, bytea, bytea, text)
    TO workflow_daemon, registrar;
