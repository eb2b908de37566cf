-- Queues of the case workflow and the overdue task's watch list.
--
-- Who must act on a case next is derived by the database from the case's own columns, so
-- that no writer (the action endpoints, report ingest, imports, demo data) can let a queue
-- drift from the state: a generated column per queue, and one equality on it answers
-- "my queue" in index order.

-- The dispatch centre whose queue holds the case: the region code at the case's tier while
-- the case waits in (open) or is held by (claimed) the centre, or while a department's
-- request for more time awaits the centre's decision. NULL otherwise.
ALTER TABLE cases ADD COLUMN centre_queue TEXT GENERATED ALWAYS AS (
    CASE WHEN status IN ('open', 'claimed')
           OR (status IN ('dispatched', 'in_progress') AND pending_extension IS NOT NULL)
         THEN CASE tier WHEN 'community' THEN community_code
                        WHEN 'town' THEN town_code
                        ELSE district_code END
    END
) STORED;

-- The department that must act: set while the case is dispatched to it or in progress.
ALTER TABLE cases ADD COLUMN department_queue TEXT GENERATED ALWAYS AS (
    CASE WHEN status IN ('dispatched', 'in_progress') THEN department END
) STORED;

CREATE INDEX cases_centre_queue ON cases (centre_queue, opened_at, id);
CREATE INDEX cases_centre_queue_due ON cases (centre_queue, due_at, id);
CREATE INDEX cases_department_queue ON cases (department_queue, town_code, opened_at, id);
CREATE INDEX cases_department_queue_due ON cases (department_queue, town_code, due_at, id);

-- Listing everything in a region, in opening order. Deliberately no index on opened_at
-- alone: PostgreSQL would be tempted to walk it for a queue and filter, which is fast only
-- while the oldest cases happen to be in the queue (they are mostly closed).
CREATE INDEX cases_district_opened ON cases (district_code, opened_at, id);
CREATE INDEX cases_town_opened ON cases (town_code, opened_at, id);
CREATE INDEX cases_community_opened ON cases (community_code, opened_at, id);

-- The overdue task: cases not yet marked and past due, and marked cases that may climb a
-- tier. Closed cases and cases at the district never match its probes.
CREATE INDEX cases_overdue_watch ON cases (overdue, status, tier, due_at);
