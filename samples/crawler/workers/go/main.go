// Command worker is the crawler's worker in Go: it takes image URLs from "crawl.images",
// downloads each image, verifies it (size, SHA-256, PNG signature), saves it, and acks with a
// result record. A transient failure (network, 5xx, a corrupt download) is nacked for a
// retry; a permanent one (404) goes to the dead-letter queue.
//
//	go run . --out downloads --name go-1 --idle 5
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// crawlTask is what the producer puts on the queue for each image.
type crawlTask struct {
	URL      string `json:"url"`
	Category string `json:"category"`
	Name     string `json:"name"`
	Size     int    `json:"size"`
	SHA256   string `json:"sha256"`
}

// crawlResult is what the worker acks with; the manager routes it to the producer.
type crawlResult struct {
	URL      string `json:"url"`
	File     string `json:"file"`
	Bytes    int    `json:"bytes"`
	SHA256   string `json:"sha256"`
	Worker   string `json:"worker"`
	Language string `json:"language"`
	Attempt  int    `json:"attempt"`
}

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// permanentError is a failure no retry can fix.
type permanentError struct{ reason string }

func (e permanentError) Error() string { return e.reason }

type config struct {
	out, name, queue string
	idle, retryDelay float64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "downloads", "folder for the images")
	flag.StringVar(&cfg.name, "name", fmt.Sprintf("go-worker-%d", os.Getpid()), "name shown in the worker registry and the summary")
	flag.StringVar(&cfg.queue, "queue", "crawl.images", "queue of image URLs")
	flag.Float64Var(&cfg.idle, "idle", 0, "exit once the queue stays empty this many seconds (0: run until stopped)")
	flag.Float64Var(&cfg.retryDelay, "retry-delay", 0.2, "seconds before a transient failure is retried")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n", cfg.name, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	client, err := taskwire.Dial(ctx, taskwire.Options{Name: cfg.name, Role: taskwire.RoleWorker, Labels: map[string]string{"language": "go"}})
	if err != nil {
		return err
	}
	defer client.Close()
	queue := client.Queue(cfg.queue)
	fmt.Printf("%s ready: saving to %s\n", cfg.name, cfg.out)
	web := &http.Client{Timeout: 15 * time.Second}
	for {
		task, err := queue.Get(ctx, taskwire.GetOptions{Timeout: seconds(cfg.idle)})
		if errors.Is(err, taskwire.ErrEmpty) {
			fmt.Printf("%s exit: the queue stayed empty for %g s\n", cfg.name, cfg.idle)
			return nil
		}
		if err != nil {
			return err
		}
		if err := handle(ctx, web, cfg, task); err != nil {
			return err
		}
	}
}

// handle settles one task: ack with a result, or nack (permanent or for a retry).
func handle(ctx context.Context, web *http.Client, cfg config, task *taskwire.Task) error {
	var job crawlTask
	if err := task.Decode(&job); err != nil {
		return task.Nack(ctx, taskwire.NackOptions{Error: "not a crawl task: " + err.Error(), Permanent: true})
	}
	report(ctx, task, 0, "fetching "+job.URL, nil)
	body, sum, err := fetch(web, cfg.name, job)
	if err == nil {
		report(ctx, task, 90, "saving", map[string]int{"bytes": len(body)})
		var file string
		if file, err = save(cfg.out, job, body); err == nil {
			result := crawlResult{URL: job.URL, File: file, Bytes: len(body), SHA256: sum, Worker: cfg.name, Language: "go", Attempt: task.Attempt}
			if err := task.Ack(ctx, result); err != nil {
				return err
			}
			fmt.Printf("saved %s -> %s (attempt %d)\n", job.URL, file, task.Attempt)
			return nil
		}
	}
	var permanent permanentError
	if errors.As(err, &permanent) {
		fmt.Printf("failed %s: %v (permanent)\n", job.URL, err)
		return task.Nack(ctx, taskwire.NackOptions{Error: err.Error(), Permanent: true})
	}
	fmt.Printf("retry %s: %v\n", job.URL, err)
	return task.Nack(ctx, taskwire.NackOptions{Error: err.Error(), Delay: seconds(cfg.retryDelay)})
}

// report tells the manager (taskwire tail, taskwire workers, the sidebar) where the
// download stands. Best effort: a report that fails (the lease is gone) is the ack's to
// find out.
func report(ctx context.Context, task *taskwire.Task, percent float64, message string, detail any) {
	if _, err := task.Progress(ctx, taskwire.Progress{Percent: taskwire.Percent(percent), Message: message, Detail: detail}); err != nil {
		fmt.Printf("progress not reported: %v\n", err)
	}
}

// fetch downloads and verifies one image; it returns the bytes and their SHA-256.
func fetch(client *http.Client, name string, job crawlTask) ([]byte, string, error) {
	request, err := http.NewRequest(http.MethodGet, job.URL, nil)
	if err != nil {
		return nil, "", permanentError{"bad URL: " + err.Error()}
	}
	request.Header.Set("User-Agent", "taskwire-crawler/"+name)
	response, err := client.Do(request)
	if err != nil {
		return nil, "", fmt.Errorf("cannot fetch: %w", err)
	}
	defer response.Body.Close()
	switch {
	case response.StatusCode == http.StatusNotFound || response.StatusCode == http.StatusGone || response.StatusCode == http.StatusForbidden:
		return nil, "", permanentError{fmt.Sprintf("HTTP %d", response.StatusCode)}
	case response.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("HTTP %d", response.StatusCode)
	}
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return nil, "", fmt.Errorf("reading the body: %w", err)
	}
	if len(body) != job.Size {
		return nil, "", fmt.Errorf("size %d, expected %d", len(body), job.Size)
	}
	digest := sha256.Sum256(body)
	sum := hex.EncodeToString(digest[:])
	if sum != job.SHA256 {
		return nil, "", fmt.Errorf("SHA-256 %s…, expected %s…", sum[:12], job.SHA256[:12])
	}
	if !bytes.HasPrefix(body, pngSignature) {
		return nil, "", permanentError{"not a PNG file"}
	}
	return body, sum, nil
}

// save writes beside the target and renames, so a crash never leaves half a file under the real name.
func save(out string, job crawlTask, body []byte) (string, error) {
	dir := filepath.Join(out, job.Category)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(dir, job.Name)
	partial := fmt.Sprintf("%s.%d.part", file, os.Getpid())
	if err := os.WriteFile(partial, body, 0o644); err != nil {
		return "", err
	}
	return file, os.Rename(partial, file)
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
