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

diesel::table! {
    reports (id) {
        id -> Text,
        inspector_id -> BigInt,
        body_sha256 -> Text,
        captured_at -> BigInt,
        received_at -> BigInt,
        lon -> Double,
        lat -> Double,
        accuracy_m -> Nullable<Double>,
        reported_crs -> Text,
        cell_code -> Nullable<Text>,
        community_code -> Nullable<Text>,
        town_code -> Nullable<Text>,
        district_code -> Nullable<Text>,
        place_kind -> Nullable<Text>,
        place_name -> Nullable<Text>,
        place_address -> Nullable<Text>,
        enterprise_uscc -> Nullable<Text>,
        checklist_version -> Integer,
        items -> Text,
        failed_count -> Integer,
        licenses_seen -> Text,
        license_checks -> Text,
        note -> Nullable<Text>,
        flags -> Text,
        answer -> Text,
    }
}

diesel::table! {
    report_photos (report_id, sha256, item_code) {
        report_id -> Text,
        sha256 -> Text,
        item_code -> Text,
    }
}

diesel::table! {
    photo_uploaders (sha256, user_id) {
        sha256 -> Text,
        user_id -> BigInt,
    }
}

diesel::table! {
    photos (sha256) {
        sha256 -> Text,
        uploader_id -> BigInt,
        content_type -> Text,
        bytes -> BigInt,
        width -> Integer,
        height -> Integer,
        exif_taken_at -> Nullable<BigInt>,
        exif_lon -> Nullable<Double>,
        exif_lat -> Nullable<Double>,
        received_at -> BigInt,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        source -> Text,
        item_code -> Nullable<Text>,
        category -> Text,
        title -> Text,
        description -> Text,
        lon -> Double,
        lat -> Double,
        cell_code -> Nullable<Text>,
        community_code -> Text,
        town_code -> Text,
        district_code -> Text,
        tier -> Text,
        department -> Text,
        priority -> Text,
        status -> Text,
        claimed_by -> Nullable<BigInt>,
        due_at -> BigInt,
        overdue -> Bool,
        pending_extension -> Nullable<BigInt>,
        enterprise_uscc -> Nullable<Text>,
        duplicate_of -> Nullable<BigInt>,
        reopened_count -> Integer,
        declined_count -> Integer,
        extended_count -> Integer,
        escalated_count -> Integer,
        version -> Integer,
        opened_at -> BigInt,
        updated_at -> BigInt,
        closed_at -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        change_seq -> BigInt,
    }
}

diesel::table! {
    case_reports (case_id, report_id, item_code) {
        case_id -> BigInt,
        report_id -> Text,
        item_code -> Text,
        joined_at -> BigInt,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        attempts -> Integer,
        first_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    case_photos (sha256, case_id) {
        sha256 -> Text,
        case_id -> BigInt,
    }
}

diesel::table! {
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_role -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        from_tier -> Nullable<Text>,
        to_tier -> Text,
        department -> Nullable<Text>,
        note -> Nullable<Text>,
        photos -> Text,
        details -> Text,
    }
}

diesel::table! {
    enterprises (uscc) {
        uscc -> Text,
        name -> Text,
        legal_representative -> Text,
        legal_rep_id_number -> Text,
        phone -> Text,
        address -> Text,
        lon -> Double,
        lat -> Double,
        cell_code -> Nullable<Text>,
        community_code -> Nullable<Text>,
        town_code -> Nullable<Text>,
        status -> Text,
        registered_on -> Text,
        place_kind -> Nullable<Text>,
        updated_at -> BigInt,
        change_seq -> BigInt,
    }
}

diesel::table! {
    licences (kind, number) {
        kind -> Text,
        number -> Text,
        uscc -> Text,
        valid_from -> Text,
        valid_to -> Text,
        status -> Text,
        change_seq -> BigInt,
    }
}

diesel::table! {
    report_enterprises (report_id, uscc) {
        report_id -> Text,
        uscc -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_username -> Text,
        actor_role -> Text,
        device -> Nullable<Text>,
        action -> Text,
        resource -> Text,
        query -> Text,
        result_count -> Integer,
        purpose -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_cells -> users (user_id));
diesel::joinable!(checklist_items -> checklist_versions (version));
diesel::joinable!(report_photos -> reports (report_id));
diesel::joinable!(case_reports -> cases (case_id));
diesel::joinable!(case_reports -> reports (report_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(licences -> enterprises (uscc));

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
    reports,
    report_photos,
    photos,
    photo_uploaders,
    cases,
    case_reports,
    case_photos,
    case_events,
    login_throttle,
    enterprises,
    licences,
    report_enterprises,
    audit_log,
);
