package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/system"
)

// The provider ECOLAURA_PAYMENT_PROVIDER names is the one the shop's
// orders take payments with (it was built, checked and logged, but the
// shop kept provider none).
func TestServeShopUsesTheConfiguredPaymentProvider(t *testing.T) {
	for _, name := range []string{"none", "manual"} {
		t.Run(name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(map[string]string{"ECOLAURA_PAYMENT_PROVIDER": name}), fs)
			require.NoError(t, err)
			payment, err := cfg.paymentProvider(nil)
			require.NoError(t, err)
			require.Equal(t, name, payment.Name())

			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			key, err := jwt.GenerateDevelopmentKey(log)
			require.NoError(t, err)
			keys, err := jwt.NewKeySet(key)
			require.NoError(t, err)
			issuer, err := jwt.NewIssuer(jwt.DefaultConfig(), keys)
			require.NoError(t, err)
			verifier, err := jwt.NewVerifier(jwt.DefaultConfig(), keys)
			require.NoError(t, err)
			cfg.DatabaseURL = "" // in memory, with the demo catalog
			s, err := cfg.newShop(context.Background(), serveDeps{db: memory.NewDatabase(), cache: memory.NewCache(), log: log,
				clock: system.Clock{}, issuer: issuer, verifier: verifier, payment: payment})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			require.Equal(t, name, s.Orders.PaymentProvider().Name())
		})
	}
}
