-- Read models. The first three are inline: written in the same transaction as
-- the events they reflect. agency_timeline is a catch-up projection that
-- follows global_position from its checkpoint.

CREATE TABLE agreement_status (
    agreement_id     text        PRIMARY KEY,
    agency_id        text        NOT NULL,
    agency_name      text        NOT NULL,
    agency_type      text        NOT NULL,
    county           text,
    model            text        NOT NULL,
    signed_on        date        NOT NULL,
    state            text        NOT NULL,
    must_keep        boolean     NOT NULL,
    open_request_id  uuid,
    ended_on         date,
    moa_url          text,
    source_edition   text
);
CREATE INDEX agreement_status_agency_idx ON agreement_status (agency_id);

CREATE TABLE termination_requests (
    request_id          uuid        PRIMARY KEY,
    agreement_id        text        NOT NULL,
    agency_id           text        NOT NULL,
    state               text        NOT NULL,
    filed_on            date        NOT NULL,
    reason              text        NOT NULL,
    local_authorization text        NOT NULL,
    meeting_on          date,
    decided_on          date,
    votes               json,
    notice_received_on  date,
    effective_on        date
);
CREATE INDEX termination_requests_agency_idx ON termination_requests (agency_id);

-- Open requests in review order: scheduled meeting first (earliest first), then filing date.
CREATE TABLE board_docket (
    request_id     uuid  PRIMARY KEY,
    agreement_id   text  NOT NULL,
    agency_id      text  NOT NULL,
    agency_name    text  NOT NULL,
    model          text  NOT NULL,
    state          text  NOT NULL,
    filed_on       date  NOT NULL,
    meeting_on     date
);
CREATE INDEX board_docket_order_idx ON board_docket (meeting_on NULLS LAST, filed_on, request_id);

CREATE TABLE projection_checkpoints (
    projection  text   PRIMARY KEY,
    position    bigint NOT NULL
);

CREATE TABLE agency_timeline (
    global_position bigint      NOT NULL,
    agency_id       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    event_type      text        NOT NULL,
    stream_id       text        NOT NULL,
    actor           text,
    summary         text        NOT NULL,
    PRIMARY KEY (agency_id, global_position)
);
