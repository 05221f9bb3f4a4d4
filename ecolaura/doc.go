// Package ecolaura is the domain model of the Ecolaura sustainable-commerce SDK.
//
// It defines the values every other package speaks in — [Money], [Product],
// [SustainabilityMetrics] and the explainable [Score], [Order], [User],
// [Principal] — together with their validation rules and the small closed set
// of domain errors ([ErrNotFound], [ErrInvalid], [ErrConflict],
// [ErrInsufficientStock], [ErrUnauthenticated], [ErrForbidden],
// [ErrInvalidTransition], [ErrIdempotencyMismatch], [ErrUnavailable]).
//
// The package imports only the standard library. Services live in the
// sub-packages (catalog, sustainability, users, orders) and the one-call wiring
// for embedding programs in package shop.
package ecolaura
