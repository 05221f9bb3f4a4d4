// Command catalog embeds the Ecolaura SDK in memory: it loads the demo
// catalog, prints a filtered list with each product's score, explains the
// best product's score and suggests greener alternatives to the last one.
//
//	go run ./examples/catalog
//	go run ./examples/catalog -category clothing -max-price 50 -sort footprint
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	category := fs.String("category", "kitchen", "category slug (empty for all)")
	query := fs.String("q", "", "text to search in names and descriptions")
	maxPrice := fs.String("max-price", "", "maximum price in EUR, e.g. 25.00")
	minScore := fs.Int("min-score", 0, "minimum sustainability score")
	sort := fs.String("sort", "score", "sort: newest, score, price, -price, footprint")
	size := fs.Int("n", 8, "number of products to show")
	if err := fs.Parse(args); err != nil {
		return err
	}

	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		return err
	}
	defer s.Close(ctx)

	filter := ecolaura.ProductFilter{Category: *category, Query: *query, InStock: true}
	if *minScore > 0 {
		filter.MinScore = minScore
	}
	if *maxPrice != "" {
		m, err := ecolaura.ParsePrice(*maxPrice, s.Catalog.DefaultCurrency())
		if err != nil {
			return err
		}
		filter.MaxPrice = &m.Amount
	}
	page, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{
		Filter: filter, Sort: ecolaura.ProductSort(*sort), PageSize: *size, Page: 1,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d products match; showing %d (sort %s)\n\n", page.Total, len(page.Items), *sort)
	fmt.Fprintf(out, "%-38s %-14s %11s %5s %6s %16s\n", "PRODUCT", "CATEGORY", "PRICE", "STOCK", "SCORE", "FOOTPRINT")
	for _, p := range page.Items {
		fp := "unknown"
		if g, ok := p.Footprint(); ok {
			fp = g.String()
		}
		fmt.Fprintf(out, "%-38s %-14s %11s %5d %6d %16s\n", p.Name, p.Category, p.Price, p.Stock, p.Score, fp)
	}
	if len(page.Items) == 0 {
		return nil
	}

	best := page.Items[0]
	score, err := s.Sustainability.Breakdown(ctx, ecolaura.Anonymous, best.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nWhy %q scores %d (formula %s):\n", best.Name, score.Value, score.FormulaVersion)
	if !score.Computed {
		fmt.Fprintln(out, "  no metrics: the score was given, not computed")
	}
	for _, c := range score.Components {
		fmt.Fprintf(out, "  %-17s %2d/%-2d  %s\n", c.Name, c.Points, c.MaxPoints, c.Reason)
	}

	last := page.Items[len(page.Items)-1]
	alts, err := s.Sustainability.Alternatives(ctx, ecolaura.Anonymous, last.ID, 3)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nGreener alternatives to %q:\n", last.Name)
	if len(alts) == 0 {
		fmt.Fprintln(out, "  none: it is already the greenest of its category")
	}
	for _, a := range alts {
		var why []string
		if a.ScoreGain > 0 {
			why = append(why, fmt.Sprintf("score +%d", a.ScoreGain))
		}
		if a.FootprintKnown && a.FootprintSaving > 0 {
			why = append(why, "saves "+a.FootprintSaving.String()+" per unit")
		}
		fmt.Fprintf(out, "  %-38s %11s  %s\n", a.Product.Name, a.Product.Price, strings.Join(why, ", "))
	}

	avgs, err := s.Sustainability.CategoryAverages(ctx, ecolaura.Anonymous)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nCategory averages:")
	for _, c := range avgs {
		fmt.Fprintf(out, "  %-14s %3d products  score %5.1f  footprint %s\n", c.Category, c.Products, c.AverageScore, c.AverageFootprint)
	}
	return nil
}
