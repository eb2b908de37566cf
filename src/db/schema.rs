//! The diesel table definitions, one set for both backends. Column types are limited to
//! those that SQLite and PostgreSQL store alike (BigInt, Integer, Text, Bool, Double).

diesel::table! {
    sync_counter (id) {
        id -> Integer,
        value -> BigInt,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    departments (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        change_seq -> BigInt,
    }
}

diesel::table! {
    regions (code) {
        code -> Text,
        level -> Text,
        name -> Text,
        name_en -> Text,
        parent_code -> Nullable<Text>,
        geometry -> Text,
        min_lon -> Double,
        min_lat -> Double,
        max_lon -> Double,
        max_lat -> Double,
        change_seq -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    checklist_versions (version) {
        version -> Integer,
        name -> Text,
        content_sha256 -> Text,
        item_count -> Integer,
        imported_at -> BigInt,
        change_seq -> BigInt,
    }
}

diesel::table! {
    checklist_items (version, code) {
        version -> Integer,
        code -> Text,
        position -> Integer,
        category -> Text,
        category_zh -> Text,
        title_zh -> Text,
        title_en -> Text,
        department -> Text,
        tier -> Text,
        severity -> Text,
        time_limit_hours -> Integer,
        photo_required -> Bool,
        applies_to -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        phone -> Text,
        role -> Text,
        region_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    user_cells (user_id, cell_code) {
        user_id -> BigInt,
        cell_code -> Text,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        user_agent -> Nullable<Text>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_cells -> users (user_id));
diesel::joinable!(checklist_items -> checklist_versions (version));

diesel::allow_tables_to_appear_in_same_query!(
    sync_counter,
    settings,
    departments,
    regions,
    checklist_versions,
    checklist_items,
    users,
    user_cells,
    sessions,
);
