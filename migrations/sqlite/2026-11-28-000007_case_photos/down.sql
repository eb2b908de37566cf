DROP TABLE case_photos;
