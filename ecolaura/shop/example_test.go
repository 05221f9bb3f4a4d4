package shop_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
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

	score, err := s.Sustainability.Breakdown(ctx, ecolaura.Anonymous, page.Items[0].ID)
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
	alts, err := s.Sustainability.Alternatives(ctx, ecolaura.Anonymous, bags.ID, 3)
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

// The whole shop in memory: a customer registers (and is mailed a link to
// verify the address) and signs in, checks out with a carbon offset, the
// background job confirms the order and the confirmation email goes out;
// cancelling puts the stock back.
func Example_checkout() {
	ctx := context.Background()
	outbox := mail.NewRecorder() // the default mailer only logs
	s, err := shop.New(ctx, shop.WithDemoCatalog(), shop.WithMailer(outbox))
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx) // stops the job runner, draining running jobs

	u, err := s.Users.Register(ctx, users.RegisterInput{Email: "Ada@Example.org", Name: "Ada", Password: "correct horse battery"})
	if err != nil {
		panic(err)
	}
	pair, err := s.Users.Login(ctx, users.Credentials{Email: "ada@example.org", Password: "correct horse battery"})
	if err != nil {
		panic(err)
	}
	// An embedding program authenticates a bearer token like this.
	ada, err := s.Tokens.Verify(ctx, pair.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("signed in:", u.Email, ada.Role, ada.UserID == u.ID)

	found, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{Query: "bamboo toothbrush"}})
	if err != nil {
		panic(err)
	}
	brush := found.Items[0]
	res, err := s.Orders.Checkout(ctx, ada, orders.CheckoutRequest{
		Lines:          []orders.LineRequest{{ProductID: brush.ID, Quantity: 3}},
		IdempotencyKey: "ada-checkout-1", // safe to retry
		CarbonOffset:   true,
	})
	if err != nil {
		panic(err)
	}
	o := res.Order
	fmt.Printf("%d × %s: %s + offset %s = %s, footprint %s, %s\n",
		o.Lines[0].Quantity, o.Lines[0].Name, o.Subtotal, o.Offset.Price, o.Total, o.Footprint, o.Status)

	if err := s.WaitIdle(ctx); err != nil { // let the background jobs run
		panic(err)
	}
	o, err = s.Orders.Get(ctx, ada, o.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println("after the jobs:", o.Status)
	orderRef := regexp.MustCompile(`[0-9A-F]{8}`)
	msgs := outbox.Messages() // sent by concurrent jobs: sorted for the output
	slices.SortFunc(msgs, func(a, b ports.Message) int { return strings.Compare(a.Subject, b.Subject) })
	for _, m := range msgs {
		fmt.Printf("email to %s: %s\n", m.To, orderRef.ReplaceAllString(m.Subject, "<ref>"))
	}

	if _, err := s.Orders.Cancel(ctx, ada, o.ID); err != nil {
		panic(err)
	}
	p, err := s.Catalog.Get(ctx, ecolaura.Anonymous, brush.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println("cancelled; stock back to", p.Stock)
	// Output:
	// signed in: ada@example.org customer true
	// 3 × Bamboo Toothbrush (4 pack): 26.70 EUR + offset 0.02 EUR = 26.72 EUR, footprint 0.9 kg CO2e, pending
	// after the jobs: confirmed
	// email to ada@example.org: Confirm your email address for Ecolaura
	// email to ada@example.org: Your Ecolaura order <ref> is confirmed
	// cancelled; stock back to 600
}

// Over the PostgreSQL and Redis of the reference server: the shop adds no
// key prefix of its own, so it reads and writes exactly the cache keys the
// server does and each sees the other's changes at once. Without
// shop.WithJobRunner the orders it takes wait in the database's queue for
// the server's workers (`ecolaura worker`). The README quotes this body.
// (Compiled, not run: it needs both services.)
func Example_postgresAndRedis() {
	ctx := context.Background()
	pg, err := postgres.Open(ctx, postgres.Config{URL: os.Getenv("ECOLAURA_DATABASE_URL")})
	if err != nil {
		log.Fatal(err)
	}
	defer pg.Close()
	// The server's key prefix (ECOLAURA_REDIS_PREFIX, default "ecolaura:"):
	// with another one the SDK and the server would not see each other's
	// cache entries and invalidations.
	redisCfg := redis.DefaultConfig(os.Getenv("ECOLAURA_REDIS_URL"))
	if prefix := os.Getenv("ECOLAURA_REDIS_PREFIX"); prefix != "" {
		redisCfg.Prefix = prefix
	}
	redisCache, err := redis.NewCache(ctx, redisCfg)
	if err != nil {
		log.Fatal(err)
	}
	defer redisCache.Close()

	s, err := shop.New(ctx, shop.WithDatabase(pg), shop.WithCache(redisCache))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	categories, err := s.Catalog.Categories(ctx, ecolaura.Anonymous)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(categories)
}
