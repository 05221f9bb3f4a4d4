package httpapi

import "github.com/gofiber/fiber/v2"

// registerAPI registers /api/v1 and /api/v2.
func (s *Server) registerAPI() {
	api := s.app.Group("/api", s.authenticate)

	v1 := api.Group("/v1")
	s.get(v1, "/products/", s.v1ListProducts)
	s.get(v1, "/products/:id/", s.v1GetProduct)
	s.handle(v1, fiber.MethodPost, "/products/", s.writeLimit, s.v1CreateProduct)
	s.handle(v1, fiber.MethodPut, "/products/:id/", s.writeLimit, s.v1WriteProduct(false))
	s.handle(v1, fiber.MethodPatch, "/products/:id/", s.writeLimit, s.v1WriteProduct(true))
	s.handle(v1, fiber.MethodDelete, "/products/:id/", s.writeLimit, s.v1DeleteProduct)
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
	s.get(v2, "/orders", s.v2ListOrders)
	s.handle(v2, fiber.MethodPost, "/orders", s.writeLimit, s.v2CreateOrder)
	s.get(v2, "/orders/:id", s.v2GetOrder)
	s.handle(v2, fiber.MethodPost, "/orders/:id/cancel", s.writeLimit, s.v2OrderAction("cancel"))
	s.handle(v2, fiber.MethodPost, "/orders/:id/ship", s.writeLimit, s.v2OrderAction("ship"))
	s.handle(v2, fiber.MethodPost, "/orders/:id/deliver", s.writeLimit, s.v2OrderAction("deliver"))
}
