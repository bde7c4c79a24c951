-- 0009: legal fidelity (issue 13): policy entries are adopted by a registrar's command.
--
-- New command type: adopt_policy_entry (register). Its event, PolicyEntryAdopted, is
-- appended by the daemon to the stream `policy` through append_events like any other;
-- nothing else in the schema changes (legal dates live in the events' data and in
-- occurred_at, which the daemon already sets from the event's legal date).
--
-- command_actor_kind lists ALL command types (0004's, 0008's plus adopt_policy_entry); it mirrors
-- DomainCommand.actorKind(ofType:) in Sources/Workflow/Domain/Commands.swift.

CREATE OR REPLACE FUNCTION command_actor_kind(p_command_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_command_type IN ('submit_termination_request', 'withdraw_termination_request',
                            'record_termination_notice') THEN 'agency'
    WHEN p_command_type IN ('schedule_review', 'record_board_vote', 'fill_board_seat',
                            'vacate_board_seat') THEN 'board'
    WHEN p_command_type IN ('register_agreement', 'rename_agency', 'correct_signed_date',
                            'record_local_government_vote', 'record_edition', 'change_agreement_holder',
                            'record_resigned_agreement', 'mark_duplicate_agreement',
                            'adopt_policy_entry') THEN 'register'
    WHEN p_command_type = 'end_agreement' THEN 'system'
END;

ALTER FUNCTION command_actor_kind(text) OWNER TO workflow_owner;
