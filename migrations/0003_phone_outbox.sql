-- Up Migration

-- The development stand-in for the phone provider (PHONE_GATEWAY=outbox): every text message and
-- call that would have gone out, shown at /dev/outbox. A call's status is moved on by whoever plays
-- the phone there (ringing, answered-1, answered-9, no-answer).
CREATE TABLE phone_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('sms', 'call')),
  to_number text NOT NULL,
  body text,
  twiml_url text,
  status_callback_url text,
  status text NOT NULL DEFAULT 'sent' CHECK (status ~ '^[a-z0-9-]{1,40}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A text message without text, or a call with nowhere to fetch its TwiML, could not have been sent.
  CONSTRAINT phone_outbox_kind_fields CHECK (
    (kind = 'sms' AND body IS NOT NULL) OR (kind = 'call' AND twiml_url IS NOT NULL)
  )
);
CREATE INDEX phone_outbox_created ON phone_outbox (created_at DESC, id DESC);

-- Down Migration

DROP TABLE phone_outbox;
