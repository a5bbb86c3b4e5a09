package onboard_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/entrasaml/entrasaml/onboard"
)

// The operator checks what a customer's admin sent before switching SSO on.
func ExampleCheck() {
	xml, err := os.ReadFile("../testdata/entra-metadata.xml") // uploaded by the customer's admin
	if err != nil {
		log.Fatal(err)
	}
	rep := onboard.Check(context.Background(), onboard.Input{
		Metadata: xml,
		Now:      func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	fmt.Println("ready:", rep.Ready)
	fmt.Println("tenant:", rep.TenantID)
	for _, c := range rep.Certificates {
		fmt.Println(c.ThumbprintSHA1, c.NotAfter.Format(time.DateOnly), c.DaysLeft, "days left")
	}
	for _, p := range rep.Problems {
		fmt.Println(p.Severity, p.Code, p.Message)
	}
	// When rep.Ready: entrasaml.New(ctx, entrasaml.Config{Metadata: rep.Metadata, ...})

	// Output:
	// ready: true
	// tenant: b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43
	// C7E9C3298058B9D376DC033B77D5549889E41F5B 2045-01-01 6616 days left
	// 00EDE8CAFDD1ACAFE1AA620A35E387FEE25DEDDD 2045-01-01 6616 days left
}
