package controllers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

// BenchmarkPoll measures one poll of a watch through the real SDK and HTTP
// to the emulator on loopback: 1000 tasks are 10 GetTaskProtection calls.
func BenchmarkPoll(b *testing.B) {
	for _, tasks := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			emulator := ecsemulator.New(ecsemulator.Options{Account: testAccount, DefaultRegion: testRegion})
			server := httptest.NewServer(emulator)
			defer server.Close()
			arns, err := emulator.CreateServiceTasks(testRegion, testCluster, "worker", tasks)
			if err != nil {
				b.Fatal(err)
			}
			if err := emulator.SetProtection(testRegion, testCluster, arns[:tasks/2], true, time.Hour); err != nil {
				b.Fatal(err)
			}
			factory := ecsclient.NewFactory(aws.Config{
				Region:      testRegion,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
			}, ecsclient.Options{Endpoint: server.URL, CallTimeout: 10 * time.Second})
			api := factory.ForRegion(testRegion)

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := poll(context.Background(), api, testRegion, testCluster, arns); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyPollSuccess measures building the status of a watch of 1000
// tasks from a poll result, which every poll does before it compares status.
func BenchmarkApplyPollSuccess(b *testing.B) {
	const tasks = 1000
	refs := make([]string, tasks)
	protected := make([]types.ProtectedTask, tasks)
	expiry := fixedNow.Add(time.Hour)
	for i := range tasks {
		refs[i] = fmt.Sprintf("%032x", i)
		protected[i] = types.ProtectedTask{
			TaskArn:           aws.String(arnBase + "orders/" + refs[i]),
			ProtectionEnabled: i%2 == 0,
		}
		if i%2 == 0 {
			protected[i].ExpirationDate = &expiry
		}
	}
	result := resultOf(protected, nil)
	watch := newWatch(refs...)

	b.ReportAllocs()
	for b.Loop() {
		applyPollSuccess(watch, result, fixedNow)
	}
}
