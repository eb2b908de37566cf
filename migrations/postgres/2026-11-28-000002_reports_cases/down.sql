DROP TABLE case_events;
DROP TABLE case_reports;
DROP TABLE cases;
DROP TABLE photos;
DROP TABLE report_photos;
DROP TABLE reports;
