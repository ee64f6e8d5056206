-- How a robot's model is called (max_tokens, temperature, reasoning_effort), checked by the
-- API (app/domain/robots.py ModelOptions); an option left out is not sent: '{}' for all.
ALTER TABLE robots ADD COLUMN model_options jsonb NOT NULL DEFAULT '{}'::jsonb;
