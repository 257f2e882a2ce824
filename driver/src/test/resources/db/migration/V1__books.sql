CREATE TABLE fw_book (
    id bigserial PRIMARY KEY,
    title text NOT NULL
);
