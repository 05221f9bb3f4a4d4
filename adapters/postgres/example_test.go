package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ports"
)

// Open a database, bring its schema up to date (safe from several replicas
// at once), work jobs, and run a transaction whose job commits with it.
func Example() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Config{URL: "postgres://postgres@127.0.0.1:5432/ecolaura?sslmode=disable"})
	if err != nil {
		log.Fatal(err) // errors.Is(err, ecolaura.ErrUnavailable) when unreachable
	}
	defer db.Close()
	if _, err := postgres.Migrate(ctx, db, postgres.MigrateUp); err != nil {
		log.Fatal(err)
	}
	runner, err := db.NewJobRunner(postgres.RunnerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	handler := ports.JobHandlerFunc(func(ctx context.Context, job ports.Job) error {
		fmt.Println("working", job.Kind)
		return nil
	})
	if err := runner.Start(ctx, handler); err != nil {
		log.Fatal(err)
	}
	defer runner.Stop(ctx)

	err = db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		// ... tx.Products().AdjustStock, tx.Orders().Create ...
		return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "process_order", Payload: []byte(`{"order_id":"…"}`)})
	})
	if err != nil {
		log.Fatal(err)
	}
}
