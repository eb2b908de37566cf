DROP TABLE photo_uploaders;
