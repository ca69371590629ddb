-- Broadcast from the database for Tidings: the realtime.messages table and the functions
-- realtime.send, realtime.broadcast_changes and realtime.topic, with the signatures of Supabase's.
-- Tidings delivers each row inserted into realtime.messages to the channels of its topic, through
-- the replication stream it reads. Safe to run again: it creates what is missing and replaces the
-- functions.

CREATE SCHEMA IF NOT EXISTS realtime;

CREATE TABLE IF NOT EXISTS realtime.messages (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    topic          text        NOT NULL,
    extension      text        NOT NULL DEFAULT 'broadcast',
    event          text,
    payload        jsonb,
    binary_payload bytea,
    private        boolean     NOT NULL DEFAULT false,
    inserted_at    timestamp   NOT NULL DEFAULT now(),
    updated_at     timestamp   NOT NULL DEFAULT now(),
    PRIMARY KEY (id, inserted_at),
    CONSTRAINT messages_one_payload CHECK (payload IS NULL OR binary_payload IS NULL)
);

CREATE INDEX IF NOT EXISTS messages_inserted_at ON realtime.messages (inserted_at);
CREATE INDEX IF NOT EXISTS messages_topic ON realtime.messages (topic);

-- Private channels are authorized by the row level security policies on this table, as in
-- Supabase: a client may join (and receive) when its role, with its JWT claims in
-- request.jwt.claims and the channel's topic in realtime.topic(), may SELECT rows of that topic
-- (extension 'broadcast' or 'presence'), and may send or track when it may INSERT them. With RLS
-- enabled and no policy, no private channel can be joined. The owner (the role Tidings connects as)
-- is not bound by the policies.
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;

-- The topic of the channel being authorized, or of the broadcast being sent in this transaction
-- (set by Tidings, and by realtime.send), for policies: USING (realtime.topic() = 'room:' || auth.uid()).
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text
    LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('realtime.topic', true), '') $$;

-- Broadcasts payload as event to the channels of topic: to the private channel when private (the
-- default, as in Supabase: the members whose policies let them read it), else to the public one.
-- A failure is a warning, never an error of the calling transaction.
CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    message_id uuid := gen_random_uuid();
BEGIN
    BEGIN
        PERFORM set_config('realtime.topic', topic, true);
        INSERT INTO realtime.messages (id, topic, extension, event, payload, private)
        VALUES (message_id, topic, 'broadcast', event,
                CASE WHEN payload ? 'id' THEN payload ELSE payload || jsonb_build_object('id', message_id) END,
                private);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'realtime.send: the broadcast to topic % was not stored: %', topic, SQLERRM;
    END;
END
$$;

-- For row triggers: broadcasts {operation, table, schema, record, old_record} of the row that changed.
CREATE OR REPLACE FUNCTION realtime.broadcast_changes(topic_name text, event_name text, operation text,
        table_name text, table_schema text, new record, old record, level text DEFAULT 'ROW')
    RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF level IS DISTINCT FROM 'ROW' THEN
        RAISE EXCEPTION 'realtime.broadcast_changes works in row triggers only (FOR EACH ROW), not %', level;
    END IF;
    IF operation NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
        RAISE EXCEPTION 'realtime.broadcast_changes: unexpected operation %', operation;
    END IF;
    PERFORM realtime.send(jsonb_build_object('operation', operation, 'table', table_name, 'schema', table_schema,
                                             'record', to_jsonb(new), 'old_record', to_jsonb(old)),
                          event_name, topic_name);
END
$$;

-- Supabase's API roles may broadcast when they exist.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT USAGE ON SCHEMA realtime TO %I', r);
            EXECUTE format('GRANT INSERT, SELECT ON realtime.messages TO %I', r);
            EXECUTE format('GRANT EXECUTE ON FUNCTION realtime.send(jsonb, text, text, boolean) TO %I', r);
            EXECUTE format('GRANT EXECUTE ON FUNCTION realtime.topic() TO %I', r);
        END IF;
    END LOOP;
END
$$;
