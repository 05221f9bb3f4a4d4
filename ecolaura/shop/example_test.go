package shop_test

import (
	"context"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

// A shop in memory with the demo catalog: list the greenest kitchen products
// under 20 EUR, explain the best one's score, and find alternatives to
// another.
func Example() {
	ctx := context.Background()
	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx)

	maxPrice := int64(2000) // minor units: 20.00 EUR
	page, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{
		Filter:   ecolaura.ProductFilter{Category: "kitchen", MaxPrice: &maxPrice, InStock: true},
		Sort:     ecolaura.SortScore,
		PageSize: 3,
	})
	if err != nil {
		panic(err)
	}
	for _, p := range page.Items {
		fmt.Printf("%-36s %9s  score %d\n", p.Name, p.Price, p.Score)
	}

	score, err := s.Sustainability.Breakdown(ctx, page.Items[0].ID)
	if err != nil {
		panic(err)
	}
	for _, c := range score.Components {
		fmt.Printf("  %-16s %2d/%d\n", c.Name, c.Points, c.MaxPoints)
	}

	found, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{
		Filter: ecolaura.ProductFilter{Query: "silicone food bags"},
	})
	if err != nil {
		panic(err)
	}
	bags := found.Items[0]
	alts, err := s.Sustainability.Alternatives(ctx, bags.ID, 3)
	if err != nil {
		panic(err)
	}
	fmt.Printf("greener than %s (score %d, %s):\n", bags.Name, bags.Score, bags.Metrics.CarbonFootprint)
	for _, a := range alts {
		fmt.Printf("  %-36s score %+d, footprint %s\n", a.Product.Name, a.ScoreGain, a.Product.Metrics.CarbonFootprint)
	}
	// Output:
	// Organic Cotton Produce Bags (5 pack) 12.00 EUR  score 62
	// Coconut Fibre Dish Brush              6.90 EUR  score 59
	// Compostable Sponge Cloths (10 pack)   9.90 EUR  score 59
	//   footprint        37/40
	//   recyclable        0/15
	//   biodegradable    15/15
	//   recycled_content  0/15
	//   certifications   10/15
	// greener than Reusable Silicone Food Bags (score 50, 1.1 kg CO2e):
	//   Organic Cotton Produce Bags (5 pack) score +12, footprint 0.6 kg CO2e
	//   Recycled Aluminium Water Bottle      score +12, footprint 2.4 kg CO2e
	//   Coconut Fibre Dish Brush             score +9, footprint 0.15 kg CO2e
}
