// kc-cloud-controller: Kubernetes' own service controller
// (k8s.io/cloud-provider/controllers/service), the part of a cloud
// controller manager that gives Services of type LoadBalancer their cloud
// lifecycle, over a "cloud" whose load balancers are MetalLB's addresses.
//
// The service controller adds the finalizer
// service.kubernetes.io/load-balancer-cleanup to a Service that wants a load
// balancer before it asks the cloud for one, and removes it only after the
// cloud released it, so a Service is never gone while its address is still
// handed out, as on a cloud. MetalLB assigns and releases the addresses
// itself: the cloud below says so (cloudprovider.ImplementedElsewhere), and
// the controller leaves the Service's status to MetalLB.
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cloudprovider "k8s.io/cloud-provider"
	servicecontroller "k8s.io/cloud-provider/controllers/service"
	"k8s.io/component-base/featuregate"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"
	"k8s.io/klog/v2"
)

// metalLB is a cloud with load balancers only, made by MetalLB.
type metalLB struct{}

func (metalLB) Initialize(cloudprovider.ControllerClientBuilder, <-chan struct{}) {}
func (m metalLB) LoadBalancer() (cloudprovider.LoadBalancer, bool)                { return m, true }
func (metalLB) Instances() (cloudprovider.Instances, bool)                        { return nil, false }
func (metalLB) InstancesV2() (cloudprovider.InstancesV2, bool)                    { return nil, false }
func (metalLB) Zones() (cloudprovider.Zones, bool)                                { return nil, false }
func (metalLB) Clusters() (cloudprovider.Clusters, bool)                          { return nil, false }
func (metalLB) Routes() (cloudprovider.Routes, bool)                              { return nil, false }
func (metalLB) ProviderName() string                                              { return "kc" }
func (metalLB) HasClusterID() bool                                                { return true }

// GetLoadBalancer: a Service has a load balancer while MetalLB gives it an address.
func (metalLB) GetLoadBalancer(_ context.Context, _ string, service *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	status := service.Status.LoadBalancer.DeepCopy()
	return status, len(status.Ingress) > 0, nil
}

func (metalLB) GetLoadBalancerName(_ context.Context, clusterName string, service *v1.Service) string {
	return clusterName + "-" + service.Namespace + "-" + service.Name
}

// EnsureLoadBalancer, UpdateLoadBalancer, EnsureLoadBalancerDeleted: MetalLB
// does the work; the service controller keeps the finalizer.
func (metalLB) EnsureLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) (*v1.LoadBalancerStatus, error) {
	return nil, cloudprovider.ImplementedElsewhere
}

func (metalLB) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	return cloudprovider.ImplementedElsewhere
}

func (metalLB) EnsureLoadBalancerDeleted(context.Context, string, *v1.Service) error {
	return cloudprovider.ImplementedElsewhere
}

func main() {
	clusterName := flag.String("cluster-name", "kc", "the cluster's name, for the load balancers' names")
	workers := flag.Int("workers", 2, "Services handled at once")
	klog.InitFlags(nil)
	flag.Parse()

	config, err := rest.InClusterConfig()
	if err != nil {
		klog.Fatalf("not in a pod: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	controller, err := servicecontroller.New(metalLB{}, client, factory.Core().V1().Services(), factory.Core().V1().Nodes(), *clusterName, featuregate.NewFeatureGate())
	if err != nil {
		klog.Fatalf("cannot start the service controller: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	factory.Start(ctx.Done())
	controller.Run(ctx, *workers, controllersmetrics.NewControllerManagerMetrics("kc-cloud-controller"))
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		klog.Fatal(err)
	}
}
