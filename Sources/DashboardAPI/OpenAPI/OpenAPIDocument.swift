/// The JSON API described by OpenAPI 3.1, served at `/openapi.json` without a token. It is the
/// contract: `OpenAPITests` checks that every route the server registers is in it and every path
/// in it is registered, and that each answer's status is one it lists, with errors in its one
/// error shape.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "CreditOps API",
        "version": "1",
        "description": "Dashboards' figures for the Youth Union's entrusted policy-credit work, and the job queue behind them. Every /api/v1 route needs `Authorization: Bearer <token>` (creditops tokens create); a token sees its unit's subtree, and only operators see jobs."
      },
      "servers": [{ "url": "/" }],
      "security": [{ "bearer": [] }],
      "paths": {
        "/api/v1/units/{code}/coverage": {
          "get": {
            "summary": "A unit's own inspection coverage by its rule, its items, its loan figures, and each unit directly below with its own",
            "operationId": "unitCoverage",
            "parameters": [{ "$ref": "#/components/parameters/unitCode" }, { "$ref": "#/components/parameters/year" }],
            "responses": {
              "200": { "description": "The figures", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UnitFigures" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/units/{code}/summary": {
          "get": {
            "summary": "A unit's loans, overdue figures, savings, next sessions, open follow-ups and reports, and reminders of the last 30 days",
            "operationId": "unitSummary",
            "parameters": [{ "$ref": "#/components/parameters/unitCode" }],
            "responses": {
              "200": { "description": "The summary", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UnitSummary" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/jobs": {
          "get": {
            "summary": "Jobs, newest first (operators; below the root, only their subtree's)",
            "operationId": "listJobs",
            "parameters": [
              { "name": "state", "in": "query", "schema": { "$ref": "#/components/schemas/JobState" } },
              { "name": "queue", "in": "query", "schema": { "$ref": "#/components/schemas/FilterText128" } },
              { "name": "kind", "in": "query", "schema": { "$ref": "#/components/schemas/FilterText128" } },
              { "name": "tag", "in": "query", "schema": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\\u0000]+$" } },
              { "name": "meta.unit", "in": "query", "description": "Jobs of this unit (any meta.KEY works the same)", "schema": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\\u0000]+$" } },
              { "name": "created_after", "in": "query", "description": "Created at or after: ISO 8601 with an offset, or 2026-12-01T08:00 in Vietnam's time", "schema": { "type": "string", "maxLength": 40 } },
              { "name": "created_before", "in": "query", "description": "Created before, written as created_after", "schema": { "type": "string", "maxLength": 40 } },
              { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } },
              { "name": "before", "in": "query", "description": "The previous page's nextBefore", "schema": { "type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807 } }
            ],
            "responses": {
              "200": { "description": "A page of jobs", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JobsPage" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "429": { "$ref": "#/components/responses/Error" }
            }
          },
          "post": {
            "summary": "Enqueue a job (operators of the root unit)",
            "operationId": "enqueueJob",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewJob" } } } },
            "responses": {
              "201": { "description": "The job (for a unique job that exists already, that one)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "413": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/jobs/{id}": {
          "get": {
            "summary": "One job with every attempt's error",
            "operationId": "getJob",
            "parameters": [{ "$ref": "#/components/parameters/jobID" }],
            "responses": {
              "200": { "description": "The job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/jobs/{id}/{action}": {
          "post": {
            "summary": "Retry or cancel a job",
            "operationId": "actOnJob",
            "parameters": [
              { "$ref": "#/components/parameters/jobID" },
              { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["retry", "cancel"] } }
            ],
            "responses": {
              "200": { "description": "The job afterwards", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" },
              "409": { "$ref": "#/components/responses/Error" }, "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/queues": {
          "get": {
            "summary": "Every queue with its counts (operators of the root unit)",
            "operationId": "listQueues",
            "responses": {
              "200": { "description": "The queues", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/QueueStats" } } } } },
              "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/api/v1/queues/{name}/{action}": {
          "post": {
            "summary": "Pause or resume a queue (operators of the root unit)",
            "operationId": "actOnQueue",
            "parameters": [
              { "name": "name", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 128 } },
              { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["pause", "resume"] } }
            ],
            "responses": {
              "200": { "description": "The queue afterwards", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/QueueStats" } } } },
              "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
              "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" },
              "429": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/healthz": {
          "get": { "summary": "The process is alive", "operationId": "health", "security": [],
                   "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } } }
        },
        "/readyz": {
          "get": { "summary": "The database is reachable, its schema current, the workers healthy", "operationId": "ready", "security": [],
                   "responses": { "200": { "description": "ready", "content": { "text/plain": { "schema": { "type": "string" } } } },
                                  "503": { "description": "not ready, and why", "content": { "text/plain": { "schema": { "type": "string" } } } } } }
        },
        "/metrics": {
          "get": { "summary": "Prometheus' text format (a bearer token when CREDITOPS_METRICS_TOKEN is set)", "operationId": "metrics", "security": [{}, { "bearer": [] }],
                   "responses": { "200": { "description": "the metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                                  "401": { "$ref": "#/components/responses/Error" } } }
        },
        "/openapi.json": {
          "get": { "summary": "This document", "operationId": "openAPI", "security": [],
                   "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } } }
        }
      },
      "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `creditops tokens create`" } },
        "parameters": {
          "unitCode": { "name": "code", "in": "path", "required": true, "schema": { "type": "string", "minLength": 1, "maxLength": 200 } },
          "year": { "name": "year", "in": "query", "description": "Default: this year in Vietnam", "schema": { "type": "integer", "minimum": 1900, "maximum": 2200 } },
          "jobID": { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807 } }
        },
        "responses": {
          "Error": { "description": "What is wrong, in one sentence", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        },
        "schemas": {
          "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["message"], "properties": { "message": { "type": "string" } } } }
          },
          "FilterText128": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^\\u0000]+$" },
          "JobState": { "type": "string", "enum": ["waiting", "available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"] },
          "Job": {
            "type": "object",
            "required": ["id", "queue", "kind", "args", "priority", "state", "attempt", "maxAttempts", "runAt", "errors", "createdAt", "meta", "tags"],
            "properties": {
              "id": { "type": "integer" }, "queue": { "type": "string" }, "kind": { "type": "string" },
              "args": { "type": "string", "description": "The arguments as JSON text" },
              "priority": { "type": "integer" }, "state": { "$ref": "#/components/schemas/JobState" },
              "attempt": { "type": "integer" }, "maxAttempts": { "type": "integer" },
              "runAt": { "type": "string", "format": "date-time" }, "attemptedAt": { "type": ["string", "null"], "format": "date-time" },
              "attemptedBy": { "type": ["string", "null"] }, "leaseExpiresAt": { "type": ["string", "null"], "format": "date-time" },
              "errors": { "type": "array", "items": { "type": "object", "required": ["attempt", "at", "error"],
                          "properties": { "attempt": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "error": { "type": "string" } } } },
              "uniqueKey": { "type": ["string", "null"] }, "createdAt": { "type": "string", "format": "date-time" },
              "finalizedAt": { "type": ["string", "null"], "format": "date-time" },
              "meta": { "type": "object", "additionalProperties": { "type": "string" } },
              "tags": { "type": "array", "items": { "type": "string" } },
              "dependsOn": { "type": "array", "items": { "type": "integer" } }
            }
          },
          "JobsPage": {
            "type": "object", "required": ["jobs"],
            "properties": { "jobs": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } },
                            "nextBefore": { "type": ["integer", "null"], "description": "Pass as `before` for the next page; absent on the last" } }
          },
          "NewJob": {
            "type": "object", "required": ["kind"],
            "properties": {
              "kind": { "type": "string" }, "args": { "type": "object" }, "queue": { "type": "string" }, "priority": { "type": "integer" },
              "run_at": { "type": "string", "format": "date-time" }, "unique_key": { "type": "string" },
              "tags": { "type": "array", "items": { "type": "string" } },
              "unique": { "type": "object", "description": "Uniqueness by args, period and states (README \"Unique jobs\")" },
              "depends_on": { "type": "array", "items": { "type": "integer" } }
            }
          },
          "QueueStats": {
            "type": "object",
            "required": ["queue", "paused", "available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"],
            "properties": {
              "queue": { "type": "string" }, "paused": { "type": "boolean" }, "available": { "type": "integer" }, "scheduled": { "type": "integer" },
              "running": { "type": "integer" }, "retryable": { "type": "integer" },
              "completed": { "type": "integer", "description": "Jobs completed in the last 24 hours (the workers' per-minute counts)" },
              "discarded": { "type": "integer" },
              "cancelled": { "type": "integer" }, "waiting": { "type": "integer" },
              "oldestAvailableAgeSeconds": { "type": ["number", "null"] }, "concurrencyLimit": { "type": ["integer", "null"] },
              "rateLimit": { "type": ["object", "null"] }
            }
          },
          "UnitFigures": {
            "type": "object", "required": ["code", "name", "level", "year"],
            "properties": {
              "code": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string", "enum": ["province", "district", "commune"] },
              "year": { "type": "integer" }, "coverage": { "type": ["object", "null"] }, "items": { "type": "array" },
              "loans": { "type": ["object", "null"] }, "children": { "type": "array" }
            }
          },
          "UnitSummary": {
            "type": "object", "required": ["unit", "name", "level", "path", "openFollowups", "reports", "nextSessions", "openReports"],
            "properties": {
              "unit": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string" },
              "path": { "type": "array", "items": { "type": "object", "required": ["code", "name"] } },
              "openFollowups": { "type": "integer" },
              "reports": { "type": "object", "required": ["open", "late", "submittedThisYear"] },
              "loans": { "type": ["object", "null"] },
              "nextSessions": { "type": "array" }, "openReports": { "type": "array" },
              "remindersSent30Days": { "type": "integer" }, "remindersFailed30Days": { "type": "integer" },
              "remindersExpired30Days": { "type": "integer" }, "remindersLate30Days": { "type": "integer" },
              "remindersOptedOut30Days": { "type": "integer" }, "updatedAt": { "type": ["string", "null"] }
            }
          }
        }
      }
    }
    """#
}
