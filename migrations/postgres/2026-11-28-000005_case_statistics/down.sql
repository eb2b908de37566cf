DROP INDEX case_events_action_at;
