/// The API's contract, OpenAPI 3.1, served at `/v1/openapi.json`.
enum OpenAPIDocument {
    static let json = #"{"openapi":"3.1.0","info":{"title":"sbie","version":"1"},"paths":{}}"#
}
