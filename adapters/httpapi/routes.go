package httpapi

import "github.com/gofiber/fiber/v2"

// registerAPI registers /api/v1 and /api/v2.
func (s *Server) registerAPI() {
	s.get(s.app, "/.well-known/jwks.json", s.jwks)
	api := s.app.Group("/api", s.authenticate)

	v1 := api.Group("/v1")
	s.get(v1, "/products/", s.v1ListProducts)
	s.get(v1, "/products/:id/", s.v1GetProduct)
	s.handle(v1, fiber.MethodPost, "/products/", s.writeLimit, s.v1CreateProduct)
	s.handle(v1, fiber.MethodPut, "/products/:id/", s.writeLimit, s.v1WriteProduct(false))
	s.handle(v1, fiber.MethodPatch, "/products/:id/", s.writeLimit, s.v1WriteProduct(true))
	s.handle(v1, fiber.MethodDelete, "/products/:id/", s.writeLimit, s.v1DeleteProduct)
	s.handle(v1, fiber.MethodPost, "/token/", s.authLimit, s.v1Token)
	s.handle(v1, fiber.MethodPost, "/token/refresh/", s.authLimit, s.v1TokenRefresh)
	s.handle(v1, fiber.MethodPost, "/users/", s.authLimit, s.v1Register)
	s.get(v1, "/users/me/", s.v1Me)
	s.get(v1, "/orders/", s.v1ListOrders)
	s.handle(v1, fiber.MethodPost, "/orders/", s.writeLimit, s.v1CreateOrder)
	s.get(v1, "/orders/:id/", s.v1GetOrder)
	s.handle(v1, fiber.MethodPost, "/orders/:id/cancel/", s.writeLimit, s.v1CancelOrder)

	v2 := api.Group("/v2")
	s.get(v2, "/products", s.v2ListProducts)
	s.handle(v2, fiber.MethodPost, "/products", s.writeLimit, s.v2CreateProduct)
	s.get(v2, "/products/:id", s.v2GetProduct)
	s.handle(v2, fiber.MethodPatch, "/products/:id", s.writeLimit, s.v2UpdateProduct)
	s.handle(v2, fiber.MethodDelete, "/products/:id", s.writeLimit, s.v2DeleteProduct)
	s.get(v2, "/products/:id/alternatives", s.v2Alternatives)
	s.get(v2, "/categories", s.v2Categories)
	s.handle(v2, fiber.MethodPost, "/auth/register", s.authLimit, s.v2Register)
	s.handle(v2, fiber.MethodPost, "/auth/token", s.authLimit, s.v2Token)
	s.handle(v2, fiber.MethodPost, "/auth/refresh", s.authLimit, s.v2Refresh)
	s.handle(v2, fiber.MethodPost, "/auth/logout", s.authLimit, s.v2Logout)
	s.get(v2, "/users/me", s.v2Me)
	s.get(v2, "/orders", s.v2ListOrders)
	s.handle(v2, fiber.MethodPost, "/orders", s.writeLimit, s.v2CreateOrder)
	s.get(v2, "/orders/:id", s.v2GetOrder)
	s.handle(v2, fiber.MethodPost, "/orders/:id/cancel", s.writeLimit, s.v2OrderAction("cancel"))
	s.handle(v2, fiber.MethodPost, "/orders/:id/ship", s.writeLimit, s.v2OrderAction("ship"))
	s.handle(v2, fiber.MethodPost, "/orders/:id/deliver", s.writeLimit, s.v2OrderAction("deliver"))
}
