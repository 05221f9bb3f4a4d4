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
}
