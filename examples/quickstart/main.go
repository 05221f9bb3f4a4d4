// Command quickstart is the README's first SDK program: the whole shop in
// memory with the demo catalog, and the greenest kitchen products in stock
// with their score breakdown.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

func main() {
	ctx := context.Background()
	s, err := shop.New(ctx, shop.WithDemoCatalog()) // everything in memory
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	page, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{
		Filter:   ecolaura.ProductFilter{Category: "kitchen", InStock: true},
		Sort:     ecolaura.SortScore,
		PageSize: 3,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range page.Items {
		fmt.Printf("%s, %s, score %d\n", p.Name, p.Price, p.Score)
		for _, c := range p.ScoreBreakdown().Components {
			fmt.Printf("  %-16s %2d/%d  %s\n", c.Name, c.Points, c.MaxPoints, c.Reason)
		}
	}
}
