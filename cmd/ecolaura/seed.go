package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
)

const seedUsage = `Usage: ecolaura seed [--products N] [--batch B] [flags]

Loads products into the PostgreSQL database (needs ECOLAURA_DATABASE_URL and
a migrated schema: run "ecolaura migrate up" first).

Without --products it loads the demo catalog, only when the catalog is empty.
With --products N it generates N varied products (every category of the
sustainability score's reference table, metrics, prices, sizes and colours:
3 variants per product on average) and bulk-loads them
with COPY in batches of B; a progress bar is drawn when stderr is a terminal.
Into an empty catalog it loads everything in one transaction with the
catalog tables' secondary indexes and constraints dropped and built again
at the end (all or nothing; readers of the catalog wait until it commits);
into a non-empty one it commits batch by batch with --workers connections.
The summary line goes to stdout.

Flags:
`

// seedConfig is the configuration of `ecolaura seed`.
type seedConfig struct {
	DatabaseURL string
	Products    int
	Batch       int
	Workers     int
	Seed        uint64
	Currency    ecolaura.Currency
}

func (c seedConfig) validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("set ECOLAURA_DATABASE_URL (or --database-url) to a postgres:// URL"))
	}
	if c.Products < 0 {
		errs = append(errs, fmt.Errorf("--products: must not be negative, got %d", c.Products))
	}
	if c.Batch < 1 || c.Batch > 100_000 {
		errs = append(errs, fmt.Errorf("--batch: want 1 to 100000, got %d", c.Batch))
	}
	if c.Workers < 1 || c.Workers > 16 {
		errs = append(errs, fmt.Errorf("--workers: want 1 to 16, got %d", c.Workers))
	}
	return errors.Join(errs...)
}

func seedCmd(ctx context.Context, args []string, env getenv, stdout, stderr io.Writer) int {
	fs := newFlagSet("seed", seedUsage, stderr)
	cfg := seedConfig{DatabaseURL: env("ECOLAURA_DATABASE_URL"), Batch: 10_000, Workers: 2, Seed: 1}
	currency := or(env("ECOLAURA_CURRENCY"), string(ecolaura.DefaultCurrency))
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL (ECOLAURA_DATABASE_URL)")
	fs.IntVar(&cfg.Products, "products", 0, "generate this many products; 0 loads the demo catalog")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "products per COPY batch")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent COPY connections")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the generator (same seed, same products apart from IDs and times)")
	if err := fs.Parse(args); err != nil {
		return helpCode(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ecolaura seed: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	cur, err := ecolaura.ParseCurrency(currency)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura seed: ECOLAURA_CURRENCY: unsupported currency %q\n", currency)
		return 2
	}
	cfg.Currency = cur
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "ecolaura seed: %v\n", err)
		noteUnknownSettings(stderr)
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := openDatabase(ctx, postgres.Config{URL: cfg.DatabaseURL, MaxConns: cfg.Workers + 2}, nil, log, nil)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura seed: %v\n", err)
		return 1
	}
	defer db.Close()

	start := time.Now()
	var n int
	if cfg.Products == 0 {
		n, err = seedDemo(ctx, db, cfg.Currency, log)
		if err == nil && n == 0 {
			fmt.Fprintln(stdout, "catalog not empty: demo catalog not loaded")
			return 0
		}
	} else {
		var bar *progressBar
		if isTerminal(stderr) {
			bar = &progressBar{w: stderr, total: cfg.Products, start: start}
		}
		n, err = seedGenerated(ctx, db, cfg, bar)
	}
	took := time.Since(start)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura seed: %v (%d products stored before the failure)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d products in %.1fs (%.0f rows/s)\n", n, took.Seconds(), float64(n)/max(took.Seconds(), 1e-9))
	return 0
}

// seedDemo loads the demo catalog through the catalog service (so scores
// and validation are the service's own) when the catalog is empty.
func seedDemo(ctx context.Context, db *postgres.Database, cur ecolaura.Currency, log *slog.Logger) (int, error) {
	svc, err := catalog.New(db, system.Clock{}, system.UUIDv7{}, catalog.WithLogger(log), catalog.WithDefaultCurrency(cur))
	if err != nil {
		return 0, err
	}
	n, err := demo.Load(ctx, svc, ecolaura.System())
	if err != nil {
		return n, fmt.Errorf("load demo catalog: %w", err)
	}
	return n, nil
}

// seedGenerated generates cfg.Products products in batches on one
// goroutine and copies them with cfg.Workers connections. It returns how
// many were stored.
func seedGenerated(ctx context.Context, db *postgres.Database, cfg seedConfig, bar *progressBar) (int, error) {
	gen, err := newProductGenerator(cfg.Seed, cfg.Currency)
	if err != nil {
		return 0, err
	}
	gen.total = cfg.Products
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ecolaura.Product, max(cfg.Workers, 2))
	go func() {
		defer close(batches)
		for done := 0; done < cfg.Products; {
			size := min(cfg.Batch, cfg.Products-done)
			b := gen.batch(size)
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			done += size
		}
	}()
	// Into an empty catalog: one transaction that drops the secondary
	// indexes and constraints, copies and builds them again (all or
	// nothing). Otherwise: batches committed one by one by cfg.Workers
	// connections, with incremental index maintenance.
	load, err := db.BeginBulkLoad(ctx)
	if err != nil {
		return 0, err
	}
	if load != nil {
		return bulkLoad(ctx, load, batches, bar)
	}
	var (
		mu     sync.Mutex
		stored int
		errs   []error
		wg     sync.WaitGroup
	)
	for range cfg.Workers {
		wg.Go(func() {
			for b := range batches {
				if err := db.InsertProducts(ctx, b); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
					return
				}
				mu.Lock()
				stored += len(b)
				bar.set(stored)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	bar.finish()
	if len(errs) > 0 {
		return stored, errs[0]
	}
	return stored, ctx.Err()
}

// bulkLoad copies the batches in load's one transaction and commits it,
// turning the next batch into rows while the previous one is copied. It
// returns how many products were stored: all or none.
func bulkLoad(ctx context.Context, load *postgres.BulkLoad, batches <-chan []ecolaura.Product, bar *progressBar) (int, error) {
	defer load.Rollback(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepared := make(chan *postgres.ProductRows, 1)
	var prepErr error
	go func() {
		defer close(prepared)
		for b := range batches {
			r, err := postgres.PrepareProducts(b)
			if err != nil {
				prepErr = err
				return
			}
			select {
			case prepared <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	for r := range prepared {
		if err := load.InsertRows(ctx, r); err != nil {
			return 0, err
		}
		n += r.Len()
		bar.set(n)
	}
	if prepErr != nil { // read after prepared is closed
		return 0, prepErr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := load.Commit(ctx); err != nil {
		return 0, err
	}
	bar.finish()
	return n, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws "[#####-----]  42% 420000/1000000 81234 rows/s" on one
// line, at most ten times a second. A nil bar draws nothing.
type progressBar struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

func (p *progressBar) set(n int) {
	if p == nil || (time.Since(p.last) < 100*time.Millisecond && n < p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * n / max(p.total, 1)
	rate := float64(n) / max(time.Since(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d %.0f rows/s ", strings.Repeat("#", filled), strings.Repeat("-", width-filled),
		100*n/max(p.total, 1), n, p.total, rate)
}

func (p *progressBar) finish() {
	if p != nil {
		fmt.Fprintln(p.w)
	}
}

// productGenerator makes realistic, varied products: every category of the
// score's reference table (the demo catalog's categories), footprints spread
// around the category reference, prices around a category level, most with
// metrics, a few out of stock.
type productGenerator struct {
	rng        *rand.Rand
	ids        system.UUIDv7
	cur        ecolaura.Currency
	categories []string
	now        time.Time
	seq        int
	// total is how many products will be generated (spreads creation times).
	total int
}

func newProductGenerator(seed uint64, cur ecolaura.Currency) (*productGenerator, error) {
	ins, err := demo.Products()
	if err != nil {
		return nil, err
	}
	var cats []string
	for _, in := range ins {
		if !slices.Contains(cats, in.Category) {
			cats = append(cats, in.Category)
		}
	}
	return &productGenerator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), cur: cur, categories: cats,
		now: time.Now().UTC().Truncate(time.Microsecond)}, nil
}

var (
	genAdjectives = []string{"Organic", "Recycled", "Bamboo", "Compostable", "Refillable", "Solar", "Reusable", "Natural",
		"Upcycled", "Hemp", "Fair", "Zero-Waste", "Plastic-Free", "Vegan", "Wooden", "Handmade", "Local", "Durable"}
	genItems = map[string][]string{
		"kitchen":       {"Cutting Board", "Food Wraps", "Lunch Box", "Straw Set", "Dish Brush", "Coffee Filter", "Water Bottle", "Spice Jar"},
		"personal-care": {"Toothbrush", "Shampoo Bar", "Soap Bar", "Razor", "Cotton Pads", "Deodorant", "Comb", "Floss"},
		"home":          {"Blanket", "Candle", "Towel Set", "Storage Basket", "Door Mat", "Lamp", "Cushion Cover", "Vase"},
		"clothing":      {"T-Shirt", "Hoodie", "Socks", "Jeans", "Rain Jacket", "Sweater", "Cap", "Scarf"},
		"outdoor":       {"Backpack", "Tent", "Sleeping Bag", "Camping Mug", "Headlamp", "Picnic Set", "Hammock", "Trail Shoes"},
		"cleaning":      {"Laundry Strips", "Dish Soap", "Sponge", "All-Purpose Cleaner", "Scrub Brush", "Cloth Set", "Toilet Cleaner", "Soap Nuts"},
		"electronics":   {"Power Bank", "Phone Case", "Charger", "Headphones", "Speaker", "Keyboard", "Mouse", "Radio"},
		"baby":          {"Diapers", "Wipes", "Bottle", "Teether", "Onesie", "Blocks", "Bib Set", "Rattle"},
		"office":        {"Notebook", "Pen Set", "Pencil Case", "Stapler", "Desk Organizer", "Paper Ream", "Planner", "Marker Set"},
		"garden":        {"Planter", "Seed Kit", "Compost Bin", "Watering Can", "Trowel", "Bird Feeder", "Gloves", "Rain Barrel"},
		"food":          {"Coffee Beans", "Tea Blend", "Granola", "Chocolate Bar", "Olive Oil", "Pasta", "Honey", "Nut Butter"},
		"pets":          {"Dog Leash", "Cat Toy", "Pet Bed", "Poop Bags", "Food Bowl", "Chew Toy", "Grooming Brush", "Treats"},
	}
	genVariants   = []string{"Mini", "Classic", "Large", "Travel", "Family Pack", "Set of 3", "Pro", "Lite", "XL", "Duo"}
	genMaterials  = []string{"bamboo", "recycled aluminium", "organic cotton", "FSC wood", "cork", "recycled PET", "glass", "hemp", "stainless steel", "natural rubber", "linen", "wool"}
	genBenefits   = []string{"lasts for years", "ships plastic free", "is repairable", "is made in Europe", "replaces single-use items", "is fully compostable", "comes with a lifetime warranty", "uses refill packs"}
	genPriceLevel = map[string]float64{"electronics": 4_500, "outdoor": 5_500, "clothing": 3_500, "home": 3_000, "garden": 2_500, "baby": 1_800,
		"kitchen": 1_800, "office": 1_200, "pets": 1_400, "personal-care": 900, "cleaning": 800, "food": 700}
)

// batch returns n new products.
func (g *productGenerator) batch(n int) []ecolaura.Product {
	out := make([]ecolaura.Product, n)
	for i := range out {
		out[i] = g.product()
	}
	return out
}

func (g *productGenerator) product() ecolaura.Product {
	r := g.rng
	g.seq++
	cat := g.categories[r.IntN(len(g.categories))]
	items := genItems[cat]
	if len(items) == 0 {
		items = []string{"Essential"}
	}
	item := items[r.IntN(len(items))]
	name := genAdjectives[r.IntN(len(genAdjectives))] + " " + item
	if r.IntN(3) == 0 {
		name += " " + genVariants[r.IntN(len(genVariants))]
	}
	name = fmt.Sprintf("%s #%d", name, g.seq)
	b1 := r.IntN(len(genBenefits))
	b2 := (b1 + 1 + r.IntN(len(genBenefits)-1)) % len(genBenefits)
	desc := fmt.Sprintf("%s made of %s; it %s and %s.", item, genMaterials[r.IntN(len(genMaterials))], genBenefits[b1], genBenefits[b2])

	level := genPriceLevel[cat]
	if level == 0 {
		level = 2_000
	}
	// Log-normal around the level, rounded to .x9 or .x0 endings.
	minor := int64(level * math.Exp(r.NormFloat64()*0.6))
	minor = max(99, minor/10*10+int64(9*r.IntN(2)))
	stock := r.IntN(500)
	if r.IntN(20) == 0 {
		stock = 0
	}
	// Created over the past year in generation order, like a real catalog
	// grown over time; increasing times (and UUIDv7 IDs) also let the
	// created-at indexes grow at their right edge during the load.
	const span = 365 * 24 * time.Hour
	step := time.Second
	if g.total > 0 {
		step = span / time.Duration(g.total)
	}
	created := g.now.Add(-span + step*time.Duration(g.seq)).Truncate(time.Microsecond)
	p := ecolaura.Product{
		ID: g.ids.NewID(), Name: name, Description: desc, Category: cat,
		Price: ecolaura.Money{Amount: minor, Currency: g.cur}, Stock: stock,
		CreatedAt: created, UpdatedAt: created, Version: 1,
	}
	if r.IntN(100) < 85 {
		ref := float64(ecolaura.ReferenceFootprint(cat))
		m := &ecolaura.SustainabilityMetrics{
			CarbonFootprint: ecolaura.CO2e(ref * math.Exp(r.NormFloat64()*0.7) * 0.8),
			Recyclable:      r.IntN(100) < 55,
			Biodegradable:   r.IntN(100) < 35,
		}
		if r.IntN(2) == 0 {
			rc := r.IntN(21) * 5
			m.RecycledContent = &rc
		}
		certs := ecolaura.Certifications()
		for range r.IntN(4) {
			m.Certifications = append(m.Certifications, certs[r.IntN(len(certs))])
		}
		m.CarbonFootprint = min(m.CarbonFootprint, ecolaura.MaxFootprint)
		p.Metrics = m
		p.Normalize()
		p.Rescore()
	} else {
		p.Score = 20 + r.IntN(61)
	}
	g.addVariants(&p, stock)
	p.Complete() // active; without options, one default variant carrying price and stock
	return p
}

// Generated options: 30 % of the products have none (one default variant),
// 40 % a size (S, M, L: 3 variants), 30 % two or three sizes by two
// colours (4 or 6 variants) — 3 variants per product on average, as in
// issue 12's 1M-product / 3M-variant figures.
var (
	genSizes   = []string{"S", "M", "L"}
	genColours = [][]string{{"oat", "charcoal"}, {"sage", "sand"}, {"natural", "indigo"}}
)

// addVariants gives p options and variants (or leaves it single-variant):
// SKUs unique per product ID, prices rising by 10 % per size, stock spread
// around stock (none when stock is 0), weights of 50–2,000 g.
func (g *productGenerator) addVariants(p *ecolaura.Product, stock int) {
	r := g.rng
	var combos []map[string]string
	switch k := r.IntN(10); {
	case k < 3:
		return
	case k < 7:
		p.Options = []ecolaura.ProductOption{{Name: "size", Values: genSizes}}
		for _, s := range genSizes {
			combos = append(combos, map[string]string{"size": s})
		}
	default:
		sizes := genSizes[:2+r.IntN(2)]
		colours := genColours[r.IntN(len(genColours))]
		p.Options = []ecolaura.ProductOption{{Name: "size", Values: sizes}, {Name: "colour", Values: colours}}
		for _, s := range sizes {
			for _, c := range colours {
				combos = append(combos, map[string]string{"size": s, "colour": c})
			}
		}
	}
	sku := "GEN-" + strings.ToUpper(string(p.ID[24:])) // the UUIDv7's random tail
	weight := 50 + r.IntN(1951)
	for i, o := range combos {
		n := 0
		if stock > 0 {
			n = r.IntN(2*stock/len(combos) + 2)
		}
		price := p.Price
		if sz := slices.Index(genSizes, o["size"]); sz > 0 {
			price.Amount += price.Amount * int64(sz) / 10
		}
		id := g.ids.NewID()
		if i == 0 {
			id = p.ID // the default variant's ID is the product's, as for a product without options
		}
		p.Variants = append(p.Variants, ecolaura.Variant{ID: id, SKU: fmt.Sprintf("%s-%d", sku, i), Options: o,
			Price: price, Available: n, WeightG: weight + 100*i})
	}
}
