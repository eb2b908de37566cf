//! The route table's builder: a handler is registered together with its OpenAPI entry
//! (the `#[utoipa::path]` on it gives both its path and its methods), so the served routes
//! and the document cannot drift apart. Routes of one path share a resource that answers
//! 405 with `Allow` to any other method; everything actix answers by itself is put into the
//! error envelope.

use std::collections::BTreeMap;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{OpenApi, RefOr, Schema};

use crate::web::error::{ApiError, ErrorCode};

/// Registers a handler with the OpenAPI entry `#[utoipa::path]` made for it:
/// `route!(api, reports::http, submit)`, or `route!(api, health)` for one in scope.
#[macro_export]
macro_rules! route {
    ($api:expr, $($module:ident)::+ , $handler:ident) => {
        paste::paste! {
            $api.add::<$($module::)+ [<__path_ $handler>], _, _>($($module::)+ $handler)
        }
    };
    ($api:expr, $handler:ident) => {
        paste::paste! { $api.add::<[<__path_ $handler>], _, _>($handler) }
    };
}

struct Entry {
    method: Method,
    route: actix_web::Route,
}

/// The routes and the OpenAPI document, built together.
pub(crate) struct Api {
    resources: BTreeMap<String, Vec<Entry>>,
    /// The order paths were first registered in, which the document keeps.
    order: Vec<String>,
    doc: OpenApi,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Api {
    /// Starts from a document holding the info, tags and security schemes.
    pub(crate) fn new(doc: OpenApi) -> Api {
        Api {
            resources: BTreeMap::new(),
            order: Vec::new(),
            doc,
            schemas: Vec::new(),
        }
    }

    /// Registers `handler` for every method of `P`'s path, and `P` in the document.
    pub(crate) fn add<P, H, Args>(&mut self, handler: H) -> &mut Api
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        H: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        H::Output: Responder + 'static,
    {
        let path = P::path();
        let methods = P::methods();
        for method in &methods {
            let method = actix_method(method);
            let route = web::method(method.clone()).to(handler.clone());
            if !self.resources.contains_key(&path) {
                self.order.push(path.clone());
            }
            self.resources
                .entry(path.clone())
                .or_default()
                .push(Entry { method, route });
        }
        let mut operation = P::operation();
        let tags: Vec<String> = P::tags().into_iter().map(str::to_string).collect();
        document_refusals(&mut operation);
        // Operation ids are unique across the document: the tag names the domain.
        if let (Some(tag), Some(id)) = (tags.first(), operation.operation_id.as_mut()) {
            if !id.starts_with(tag.as_str()) {
                *id = format!("{tag}_{id}");
            }
        }
        if !tags.is_empty() {
            operation.tags = Some(tags);
        }
        self.doc.paths.add_path_operation(&path, methods, operation);
        P::schemas(&mut self.schemas);
        self
    }

    /// The OpenAPI document of every registered route.
    pub(crate) fn document(&self) -> OpenApi {
        let mut doc = self.doc.clone();
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, schema) in &self.schemas {
            components
                .schemas
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
        doc
    }

    /// Mounts every route on the app being built.
    pub(crate) fn mount(self, cfg: &mut web::ServiceConfig) {
        let Api {
            mut resources,
            mut order,
            ..
        } = self;
        // actix tries resources in order: a literal segment must come before a parameter
        // that would match it too (`/enterprises/import` before `/enterprises/{uscc}`).
        order.sort_by_cached_key(|path| {
            path.split('/')
                .map(|segment| segment.starts_with('{'))
                .collect::<Vec<bool>>()
        });
        for path in order {
            let entries = resources.remove(&path).unwrap_or_default();
            let allow = entries
                .iter()
                .map(|e| e.method.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut resource =
                web::resource(path.as_str()).default_service(web::to(move |req: HttpRequest| {
                    let allow = allow.clone();
                    async move { method_not_allowed(&req, &allow) }
                }));
            for entry in entries {
                resource = resource.route(entry.route);
            }
            cfg.service(resource);
        }
    }
}

/// Adds to an operation the refusals every handler of its kind can answer, where its own
/// annotation did not name them: 401 for an operation behind a token, 400 for one that
/// reads a path or query (a value that does not parse), and 400, 413, 415 and 422 for one
/// that reads a body. So the document lists every status the server can send.
fn document_refusals(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let reads_parameters = operation.parameters.as_ref().is_some_and(|p| {
        p.iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Path))
    });
    let reads_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        if !operation.responses.responses.contains_key(status) {
            operation
                .responses
                .responses
                .insert(status.to_string(), error_response(description).into());
        }
    };
    if secured {
        add(
            "401",
            "no token, or one unknown, expired or revoked (`unauthorized`)",
        );
    }
    if reads_parameters || reads_body {
        add(
            "400",
            "a path, query or body that cannot be read (`bad_request`, `malformed_json`)",
        );
    }
    if reads_body {
        add(
            "413",
            "the body is larger than its limit (`payload_too_large`)",
        );
        add(
            "415",
            "the body is not of a type this operation takes (`unsupported_media_type`)",
        );
        add(
            "422",
            "well-formed but invalid: `details` lists every problem (`validation_failed`)",
        );
    }
}

/// A response carrying the error envelope.
fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .build()
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let mut answer = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} does not answer {}; it answers {allow}",
            req.path(),
            req.method()
        ),
    )
    .with_details(serde_json::json!({"allow": allow.split(", ").collect::<Vec<_>>()}))
    .error_response();
    if let Ok(value) = HeaderValue::from_str(allow) {
        answer.headers_mut().insert(ALLOW, value);
    }
    answer
}

/// Refuses a path or query that carries a NUL (`%00`) before any handler sees it: no
/// parameter of ours may hold one, and PostgreSQL cannot compare text with one.
pub async fn refuse_nul(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let raw = req.uri().path_and_query().map_or("", |p| p.as_str());
    if raw.contains("%00") {
        return Err(ApiError::bad_request("the path or query holds a NUL character (%00)").into());
    }
    next.call(req).await
}

/// The answer to a path no route serves.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.path()))
        .error_response()
}

/// Turns every error answer that is not already our JSON envelope (actix's own 400s for
/// broken headers, ...) into the envelope, so a client never sees another shape.
pub(crate) fn envelope_every_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (req, res) = res.into_parts();
    let mut answer = ApiError::new(ErrorCode::of_status(status), message).error_response();
    *answer.status_mut() = status;
    if let Some(allow) = res.headers().get(ALLOW) {
        answer.headers_mut().insert(ALLOW, allow.clone());
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}
