-- Statistics (src/stats, docs/statistics.md) count the timeline by action within a time
-- window: the dispatches of a window (a department's cohort), its failed verifications,
-- declines and approved extensions. One range of this index per action reads just those
-- events, where the index on `at` alone would read every event of the window.
CREATE INDEX case_events_action_at ON case_events (action, at);
