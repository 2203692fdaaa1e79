package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.cloud.client.discovery.composite.CompositeDiscoveryClientAutoConfiguration;
import org.springframework.cloud.client.discovery.simple.InstanceProperties;
import org.springframework.cloud.client.discovery.simple.SimpleDiscoveryClientAutoConfiguration;
import org.springframework.cloud.client.discovery.simple.SimpleDiscoveryProperties;
import org.springframework.cloud.client.loadbalancer.DeferringLoadBalancerInterceptor;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.cloud.client.loadbalancer.reactive.LoadBalancerBeanPostProcessorAutoConfiguration;
import org.springframework.cloud.client.loadbalancer.reactive.ReactorLoadBalancerClientAutoConfiguration;
import org.springframework.cloud.commons.util.UtilAutoConfiguration;
import org.springframework.cloud.loadbalancer.config.BlockingLoadBalancerClientAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.client.support.RestClientHttpServiceGroupConfigurer;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.registry.ImportHttpServices;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.UnansweredPort;
import uk.nhs.hee.tis.resilience.autoconfigure.actuate.ResilienceMetricsAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.autoconfigure.http.ReactiveHttpClientResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.OutlierDetector;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * A service with two real instances on loopback behind Spring Cloud LoadBalancer (simple discovery), called
 * through a {@code @LoadBalanced} client at {@code http://profile}: one bad instance costs callers almost
 * nothing, the service's deadline and single breaker hold through the load balancer, and what reached each
 * instance is counted there.
 */
@ExtendWith(OutputCaptureExtension.class)
class LoadBalancedCallsTests {

	@RegisterExtension
	static WireMockExtension first = LoopbackFixtures.loopbackServer(wireMockConfig().containerThreads(40));

	@RegisterExtension
	static WireMockExtension second = LoopbackFixtures.loopbackServer(wireMockConfig().containerThreads(40));

	private static final Class<?>[] LOAD_BALANCER = { UtilAutoConfiguration.class,
			SimpleDiscoveryClientAutoConfiguration.class, CompositeDiscoveryClientAutoConfiguration.class,
			org.springframework.cloud.client.loadbalancer.LoadBalancerAutoConfiguration.class,
			org.springframework.cloud.loadbalancer.config.LoadBalancerAutoConfiguration.class,
			BlockingLoadBalancerClientAutoConfiguration.class, LoadBalancerBeanPostProcessorAutoConfiguration.class,
			ReactorLoadBalancerClientAutoConfiguration.class, ReactiveHttpClientAutoConfiguration.class,
			WebClientAutoConfiguration.class, ReactiveHttpClientResilienceAutoConfiguration.class,
			LoadBalancerResilienceAutoConfiguration.class };

	private static ApplicationContextRunner runner(String firstUrl, String secondUrl) {
		return runner(firstUrl, secondUrl, LoadBalancedClients.class);
	}

	private static ApplicationContextRunner runner(String firstUrl, String secondUrl, Class<?> clients) {
		return new ApplicationContextRunner().withConfiguration(LoopbackFixtures.protectedHttpClients(LOAD_BALANCER))
			.withUserConfiguration(clients)
			.withPropertyValues("spring.cloud.discovery.client.simple.instances.profile[0].uri=" + firstUrl,
					"spring.cloud.discovery.client.simple.instances.profile[1].uri=" + secondUrl,
					"tis.resilience.services.profile.url=http://profile",
					"tis.resilience.services.profile.response-timeout=1s",
					"tis.resilience.services.profile.retry.max-attempts=1");
	}

	private static ApplicationContextRunner runner(WireMockExtension firstInstance, String secondUrl) {
		return runner(url(firstInstance), secondUrl);
	}

	private static String url(WireMockExtension instance) {
		return "http://127.0.0.1:" + instance.getPort();
	}

	private static String refusedUrl() throws IOException {
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			return "http://127.0.0.1:" + socket.getLocalPort();
		}
	}

	private static RestClient restClient(AssertableApplicationContext context) {
		return context.getBean(RestClient.Builder.class).baseUrl("http://profile").build();
	}

	private static WebClient webClient(AssertableApplicationContext context) {
		return context.getBean(WebClient.Builder.class).baseUrl("http://profile").build();
	}

	private static ServiceGuard profile(AssertableApplicationContext context) {
		return context.getBean(ServiceGuardRegistry.class).guard("profile");
	}

	private static int failures(int calls, Supplier<String> call) {
		int failed = 0;
		for (int i = 0; i < calls; i++) {
			try {
				call.get();
			}
			catch (RuntimeException ex) {
				failed++;
			}
		}
		return failed;
	}

	@Test
	void holdsTheServicesDeadlineThroughTheLoadBalancerAndKeepsOneGuardForTheService() {
		first.stubFor(get("/api/hang").willReturn(ok("late").withFixedDelay(20_000)));
		second.stubFor(get("/api/hang").willReturn(ok("late").withFixedDelay(20_000)));
		runner(first, url(second)).run((context) -> {
			long start = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> restClient(context).get().uri("/api/hang").retrieve().body(String.class))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT))
				.satisfies((ex) -> assertThat(ex.service()).isEqualTo("profile"));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
			assertThat(context.getBean(ServiceGuardRegistry.class).guards()).extracting(ServiceGuard::name)
				.containsExactly("profile");
		});
	}

	@Test
	void holdsTheServicesDeadlineThroughTheLoadBalancerForWebClient() {
		first.stubFor(get("/api/hang-reactive").willReturn(ok("late").withFixedDelay(20_000)));
		second.stubFor(get("/api/hang-reactive").willReturn(ok("late").withFixedDelay(20_000)));
		runner(first, url(second)).run((context) -> {
			long start = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> webClient(context).get().uri("/api/hang-reactive").retrieve().bodyToMono(String.class)
					.block(Duration.ofSeconds(30)))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
		});
	}

	@Test
	void sendsEveryCallToTheHealthyInstanceWhenTheOtherRefusesConnections(CapturedOutput output) throws IOException {
		second.stubFor(get("/api/refused-neighbour").willReturn(ok("fine")));
		String refused = refusedUrl();
		String refusedInstance = refused.substring("http://".length());
		runner(refused, url(second)).withBean(MeterRegistry.class, SimpleMeterRegistry::new)
			.withConfiguration(AutoConfigurations.of(ResilienceMetricsAutoConfiguration.class))
			.run((context) -> {
				RestClient client = restClient(context);
				assertThat(failures(100, () -> client.get().uri("/api/refused-neighbour").retrieve().body(String.class)))
					.isZero();
				second.verify(100, getRequestedFor(urlPathEqualTo("/api/refused-neighbour")));
				assertThat(profile(context).circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
				assertThat(profile(context).circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
				assertThat(output).contains("event=instance_ejected service=profile instance=" + refusedInstance);
				// Seen by operators: the instance's state, the ejection, the failovers before it, the instances.
				assertThat(context.getBean(LoadBalancedInstances.class).detectors().get("profile").instances())
					.hasEntrySatisfying(refusedInstance, (state) -> assertThat(state.ejected()).isTrue());
				MeterRegistry meters = context.getBean(MeterRegistry.class);
				assertThat(meters.get("tis.resilience.instance.ejections").tag("service", "profile").counter().count())
					.isEqualTo(1);
				assertThat(meters.get("tis.resilience.failovers").tag("service", "profile").counter().count())
					.isEqualTo(3);
				assertThat(meters.get("tis.resilience.instances").tag("service", "profile").tag("state", "ejected")
					.gauge().value()).isEqualTo(1);
				assertThat(meters.get("tis.resilience.instances").tag("service", "profile").tag("state", "in_rotation")
					.gauge().value()).isEqualTo(1);
			});
	}

	@Test
	void sendsEveryWebClientCallToTheHealthyInstanceWhenTheOtherRefusesConnections() throws IOException {
		second.stubFor(get("/api/refused-neighbour-reactive").willReturn(ok("fine")));
		runner(refusedUrl(), url(second)).run((context) -> {
			WebClient client = webClient(context);
			assertThat(failures(100, () -> client.get().uri("/api/refused-neighbour-reactive").retrieve()
				.bodyToMono(String.class).block(Duration.ofSeconds(10)))).isZero();
			second.verify(100, getRequestedFor(urlPathEqualTo("/api/refused-neighbour-reactive")));
			assertThat(profile(context).circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
		});
	}

	@Test
	void sendsEveryWebClientGetAndPostToTheHealthyInstanceWhenTheOtherIsCutOffEachOnce() throws IOException {
		second.stubFor(get("/api/cut-off-neighbour").willReturn(ok("fine")));
		second.stubFor(post("/api/cut-off-posts").willReturn(ok("stored")));
		try (UnansweredPort cutOff = new UnansweredPort()) {
			runner(cutOff.url(), url(second))
				.withPropertyValues("tis.resilience.services.profile.connect-timeout=200ms",
						"tis.resilience.services.profile.response-timeout=8s")
				.run((context) -> {
					WebClient client = webClient(context);
					assertThat(failures(20, () -> client.get().uri("/api/cut-off-neighbour").retrieve()
						.bodyToMono(String.class).block(Duration.ofSeconds(30)))).isZero();
					// A POST whose connection was never made was never sent: the other instance takes it, once.
					assertThat(failures(10, () -> client.post().uri("/api/cut-off-posts").bodyValue("x").retrieve()
						.bodyToMono(String.class).block(Duration.ofSeconds(30)))).isZero();
					second.verify(20, getRequestedFor(urlPathEqualTo("/api/cut-off-neighbour")));
					second.verify(10, postRequestedFor(urlPathEqualTo("/api/cut-off-posts")));
					assertThat(profile(context).circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
				});
		}
	}

	@Test
	void protectsALoadBalancedRestTemplateTheSameWay() throws IOException {
		second.stubFor(get("/api/template").willReturn(ok("fine")));
		first.stubFor(get("/api/template-hang").willReturn(ok("late").withFixedDelay(20_000)));
		second.stubFor(get("/api/template-hang").willReturn(ok("late").withFixedDelay(20_000)));
		runner(refusedUrl(), url(second)).run((context) -> {
			RestTemplate template = context.getBean(RestTemplate.class);
			assertThat(failures(20, () -> template.getForObject("http://profile/api/template", String.class))).isZero();
			second.verify(20, getRequestedFor(urlPathEqualTo("/api/template")));
		});
		runner(first, url(second)).run((context) -> {
			long start = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> context.getBean(RestTemplate.class).getForObject("http://profile/api/template-hang",
						String.class))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
		});
	}

	@Test
	void protectsAnHttpServiceGroupGivenTheLoadBalancersInterceptorAsDocsKubernetesShows() throws IOException {
		second.stubFor(get("/api/group").willReturn(ok("fine")));
		first.stubFor(get("/api/group-hang").willReturn(ok("late").withFixedDelay(20_000)));
		second.stubFor(get("/api/group-hang").willReturn(ok("late").withFixedDelay(20_000)));
		runner(refusedUrl(), url(second), LoadBalancedGroup.class)
			.withPropertyValues("spring.http.serviceclient.profile.base-url=http://profile")
			.run((context) -> {
				ProfileApi profile = context.getBean(ProfileApi.class);
				assertThat(failures(20, profile::group)).isZero();
				second.verify(20, getRequestedFor(urlPathEqualTo("/api/group")));
			});
		runner(url(first), url(second), LoadBalancedGroup.class)
			.withPropertyValues("spring.http.serviceclient.profile.base-url=http://profile")
			.run((context) -> {
				long start = System.nanoTime();
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> context.getBean(ProfileApi.class).groupHang())
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
				assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
			});
	}

	@Test
	void ejectsAnInstanceAnswering503BeforeItOpensTheServicesBreaker() {
		first.stubFor(get("/api/half-bad").willReturn(serviceUnavailable()));
		second.stubFor(get("/api/half-bad").willReturn(ok("fine")));
		runner(first, url(second)).run((context) -> {
			RestClient client = restClient(context);
			int failedFirstHalf = failures(100, () -> client.get().uri("/api/half-bad").retrieve().body(String.class));
			int failedSecondHalf = failures(100, () -> client.get().uri("/api/half-bad").retrieve().body(String.class));
			assertThat(failedFirstHalf).isLessThanOrEqualTo(10);
			assertThat(failedSecondHalf).isZero();
			assertThat(profile(context).circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
			// Counted where it arrived: the bad instance got only the calls that failed.
			first.verify(failedFirstHalf, getRequestedFor(urlPathEqualTo("/api/half-bad")));
		});
	}

	@Test
	void ejectsAHangingInstanceAfterAFewTimeouts() {
		first.stubFor(get("/api/half-hung").willReturn(ok("late").withFixedDelay(20_000)));
		second.stubFor(get("/api/half-hung").willReturn(ok("fine")));
		runner(first, url(second)).run((context) -> {
			RestClient client = restClient(context);
			int failedFirstHalf = failures(30, () -> client.get().uri("/api/half-hung").retrieve().body(String.class));
			int failedSecondHalf = failures(30, () -> client.get().uri("/api/half-hung").retrieve().body(String.class));
			assertThat(failedFirstHalf).isLessThanOrEqualTo(6);
			assertThat(failedSecondHalf).isZero();
			assertThat(profile(context).circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
		});
	}

	@Test
	void retriesAGetOnTheOtherInstanceNeverOnTheOneThatJustFailed() {
		first.stubFor(get("/api/retried-elsewhere").willReturn(serviceUnavailable()));
		second.stubFor(get("/api/retried-elsewhere").willReturn(ok("fine")));
		// Every other call needs its retry: the retry budget is raised so that only the choice of instance is tested.
		runner(first, url(second)).withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2",
				"tis.resilience.services.profile.retry.budget-min-per-second=1000",
				"tis.resilience.services.profile.outlier-ejection.enabled=false")
			.run((context) -> {
				RestClient client = restClient(context);
				assertThat(failures(40, () -> client.get().uri("/api/retried-elsewhere").retrieve().body(String.class)))
					.isZero();
				// With no ejection, the bad instance keeps getting first attempts; every retry went to the other.
				int toFirst = first.countRequestsMatching(getRequestedFor(urlPathEqualTo("/api/retried-elsewhere")).build())
					.getCount();
				second.verify(40, getRequestedFor(urlPathEqualTo("/api/retried-elsewhere")));
				assertThat(toFirst).isGreaterThan(0);
			});
	}

	@Test
	void sendsPostsNeverSentToTheOtherInstanceAndAPostThatReachedOneOnlyOnce() throws IOException {
		second.stubFor(post("/api/posts").willReturn(ok("stored")));
		runner(refusedUrl(), url(second)).run((context) -> {
			RestClient client = restClient(context);
			assertThat(failures(20, () -> client.post().uri("/api/posts").body("x").retrieve().body(String.class)))
				.isZero();
			second.verify(20, postRequestedFor(urlPathEqualTo("/api/posts")));
		});
		first.stubFor(post("/api/posts-503").willReturn(serviceUnavailable()));
		second.stubFor(post("/api/posts-503").willReturn(ok("stored")));
		runner(first, url(second)).withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3")
			.run((context) -> {
				RestClient client = restClient(context);
				int failed = failures(10, () -> client.post().uri("/api/posts-503").body("x").retrieve().body(String.class));
				int toFirst = first.countRequestsMatching(postRequestedFor(urlPathEqualTo("/api/posts-503")).build())
					.getCount();
				int toSecond = second.countRequestsMatching(postRequestedFor(urlPathEqualTo("/api/posts-503")).build())
					.getCount();
				// Each POST was received exactly once: the ones that got a 503 were not sent again.
				assertThat(toFirst + toSecond).isEqualTo(10);
				assertThat(failed).isEqualTo(toFirst);
			});
	}

	@Test
	void bringsAHealedInstanceBackAfterItsEjectionTime(CapturedOutput output) {
		first.stubFor(get("/api/heals").willReturn(serviceUnavailable()));
		second.stubFor(get("/api/heals").willReturn(ok("fine")));
		runner(first, url(second)).withPropertyValues(
				"tis.resilience.services.profile.outlier-ejection.base-ejection-time=1s")
			.run((context) -> {
				RestClient client = restClient(context);
				failures(20, () -> client.get().uri("/api/heals").retrieve().body(String.class));
				assertThat(output).contains("event=instance_ejected service=profile instance=127.0.0.1:" + first.getPort());
				first.stubFor(get("/api/heals").willReturn(ok("healed")));
				int before = first.countRequestsMatching(getRequestedFor(urlPathEqualTo("/api/heals")).build()).getCount();
				long healed = System.nanoTime();
				await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
					client.get().uri("/api/heals").retrieve().body(String.class);
					return first.countRequestsMatching(getRequestedFor(urlPathEqualTo("/api/heals")).build())
						.getCount() > before;
				});
				// The ejection time (1 s, up to 10% jitter) plus a second.
				assertThat(Duration.ofNanos(System.nanoTime() - healed)).isLessThan(Duration.ofMillis(2100));
				assertThat(output).contains("event=instance_returned service=profile instance=127.0.0.1:" + first.getPort());
			});
	}

	@Test
	void endsARequestWhoseOnlyListedInstanceRefusesWithoutFailingOverToOneNoLongerListed() throws IOException {
		second.stubFor(get("/api/scaled-down").willReturn(ok("fine")));
		runner(refusedUrl(), url(second)).run((context) -> {
			RestClient client = restClient(context);
			WebClient webClient = webClient(context);
			assertThat(failures(10, () -> client.get().uri("/api/scaled-down").retrieve().body(String.class))).isZero();
			// Scaled down to the one instance that is restarting (refusing): there is nowhere to fail over to.
			SimpleDiscoveryProperties discovery = context.getBean(SimpleDiscoveryProperties.class);
			List<InstanceProperties> both = discovery.getInstances().get("profile");
			discovery.getInstances().put("profile", new ArrayList<>(both.subList(0, 1)));
			long start = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> client.get().uri("/api/scaled-down").retrieve().body(String.class))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> webClient.get().uri("/api/scaled-down").retrieve().bodyToMono(String.class)
					.block(Duration.ofSeconds(10)))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
			// Only the instance discovery lists now is shown.
			assertThat(context.getBean(LoadBalancedInstances.class).detectors().get("profile").instances())
				.containsOnlyKeys(both.get(0).getUri().getAuthority());
		});
	}

	@Test
	void keepsTheServicesBreakerClosedWhenOneOfTwoInstancesHangsUnderConcurrentCallers() {
		first.stubFor(get("/api/hang-concurrent").willReturn(ok("late").withFixedDelay(5_000)));
		second.stubFor(get("/api/hang-concurrent").willReturn(ok("fine")));
		first.stubFor(get("/api/before-the-hang").willReturn(ok("fine")));
		second.stubFor(get("/api/before-the-hang").willReturn(ok("fine")));
		runner(first, url(second)).withPropertyValues("tis.resilience.services.profile.response-timeout=500ms")
			.run((context) -> {
				RestClient client = restClient(context);
				// Healthy traffic first, as a service has before one of its instances hangs: the breaker's window
				// holds successes, and the clients are warm.
				assertThat(failures(40, () -> client.get().uri("/api/before-the-hang").retrieve().body(String.class)))
					.isZero();
				AtomicInteger timeouts = new AtomicInteger();
				AtomicInteger answered = new AtomicInteger();
				long end = System.nanoTime() + Duration.ofMillis(2500).toNanos();
				List<CompletableFuture<Void>> callers = new ArrayList<>();
				ExecutorService pool = Executors.newFixedThreadPool(20);
				try {
					for (int i = 0; i < 20; i++) {
						callers.add(CompletableFuture.runAsync(() -> {
							while (System.nanoTime() < end) {
								try {
									client.get().uri("/api/hang-concurrent").retrieve().body(String.class);
									answered.incrementAndGet();
								}
								catch (ServiceUnavailableException ex) {
									assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT);
									timeouts.incrementAndGet();
								}
							}
						}, pool));
					}
					CompletableFuture.allOf(callers.toArray(CompletableFuture[]::new)).join();
				}
				finally {
					pool.shutdownNow();
				}
				// A hanging instance collects outstanding calls and is skipped, then ejected: the callers that chose it
				// in the first moment wait out the deadline (at most one wave of them), the rest go to the healthy
				// instance, and the service's breaker never opens.
				assertThat(timeouts.get()).isLessThanOrEqualTo(20);
				assertThat(answered.get()).isGreaterThan(100);
				assertThat(profile(context).circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
			});
	}

	@Test
	void neverEjectsBothOfTheTwoInstancesLeftAfterAScaleDown() throws IOException {
		first.stubFor(get("/api/after-scale-down").willReturn(ok("fine")));
		second.stubFor(get("/api/after-scale-down").willReturn(ok("fine")));
		runner(url(first), url(second)).withPropertyValues(
				"spring.cloud.discovery.client.simple.instances.profile[2].uri=" + refusedUrl(),
				"spring.cloud.discovery.client.simple.instances.profile[3].uri=" + refusedUrl())
			.run((context) -> {
				RestClient client = restClient(context);
				failures(8, () -> client.get().uri("/api/after-scale-down").retrieve().body(String.class));
				SimpleDiscoveryProperties discovery = context.getBean(SimpleDiscoveryProperties.class);
				List<InstanceProperties> all = discovery.getInstances().get("profile");
				discovery.getInstances().put("profile", new ArrayList<>(all.subList(0, 2)));
				first.stubFor(get("/api/after-scale-down").willReturn(serviceUnavailable()));
				second.stubFor(get("/api/after-scale-down").willReturn(serviceUnavailable()));
				failures(8, () -> client.get().uri("/api/after-scale-down").retrieve().body(String.class));
				assertThat(context.getBean(LoadBalancedInstances.class).detectors().get("profile").instances().values())
					.filteredOn(OutlierDetector.InstanceState::ejected)
					.hasSize(1);
			});
	}

	@Test
	void documentsEveryMeter() throws IOException {
		String observability = Files.readString(Path.of("..", "docs", "observability.md"));
		for (String meter : InstanceEjectionReport.METERS) {
			assertThat(observability).as("docs/observability.md lists %s", meter).contains("`" + meter + "`");
		}
	}

	/** Profile's API, as an HTTP service group whose client is load-balanced as docs/kubernetes.md shows. */
	interface ProfileApi {

		@GetExchange("/api/group")
		String group();

		@GetExchange("/api/group-hang")
		String groupHang();

	}

	@Configuration(proxyBeanMethods = false)
	@ImportHttpServices(group = "profile", types = ProfileApi.class)
	static class LoadBalancedGroup {

		@Bean
		RestClientHttpServiceGroupConfigurer loadBalancedGroups(DeferringLoadBalancerInterceptor loadBalancer) {
			return (groups) -> groups.filterByName("profile")
				.forEachClient((group, builder) -> builder.requestInterceptor(loadBalancer));
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class LoadBalancedClients {

		@Bean
		@LoadBalanced
		RestClient.Builder loadBalancedRestClient() {
			return RestClient.builder();
		}

		@Bean
		@LoadBalanced
		WebClient.Builder loadBalancedWebClient() {
			return WebClient.builder();
		}

		@Bean
		@LoadBalanced
		RestTemplate loadBalancedRestTemplate() {
			return new RestTemplate();
		}

	}

	@Test
	void namesSpringCloudsOwnRetryAtStartupInOneWarnLine(CapturedOutput output) {
		runner(first, url(second)).withPropertyValues("spring.cloud.loadbalancer.retry.enabled=true").run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(output).containsOnlyOnce("event=load_balancer_retry_on clients=[WebClient]");
		});
	}

	@Test
	void saysNothingOfSpringCloudsRetryWhileItIsOff(CapturedOutput output) {
		runner(first, url(second)).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(output).doesNotContain("event=load_balancer_retry_on");
		});
	}

	@Test
	void servesEachCallersKeptCopyThroughTheLoadBalancerWhileTheBreakerIsOpenWithNothingSent() {
		for (WireMockExtension instance : List.of(first, second)) {
			instance.stubFor(get("/api/userinfo").withHeader("Authorization", equalTo("Bearer alice-token"))
				.willReturn(ok("alice's userinfo")));
			instance.stubFor(get("/api/userinfo").withHeader("Authorization", equalTo("Bearer bob-token"))
				.willReturn(ok("bob's userinfo")));
		}
		runner(first, url(second)).withPropertyValues("tis.resilience.services.profile.stale-if-error=1m").run((context) -> {
			WebClient client = webClient(context).mutate()
				.filter((request, next) -> next.exchange(org.springframework.web.reactive.function.client.ClientRequest.from(request)
					.headers((headers) -> headers.setBearerAuth(request.attribute("user").orElseThrow() + "-token"))
					.build()))
				.build();
			java.util.function.Function<String, String> userinfo = (user) -> client.get()
				.uri("/api/userinfo")
				.attribute("user", user)
				.retrieve()
				.bodyToMono(String.class)
				.block(Duration.ofSeconds(5));
			assertThat(userinfo.apply("alice")).isEqualTo("alice's userinfo");
			assertThat(userinfo.apply("bob")).isEqualTo("bob's userinfo");
			profile(context).circuitBreaker().transitionToForcedOpenState();
			assertThat(userinfo.apply("alice")).isEqualTo("alice's userinfo");
			assertThat(userinfo.apply("bob")).isEqualTo("bob's userinfo");
			// The two good answers, spread or not, and nothing sent to either instance while the breaker was open.
			assertThat(first.getAllServeEvents().size() + second.getAllServeEvents().size()).isEqualTo(2);
		});
	}

	@Configuration(proxyBeanMethods = false)
	static class OnlyALoadBalancedRestClient {

		@Bean
		@LoadBalanced
		RestClient.Builder loadBalancedRestClient() {
			return RestClient.builder();
		}

	}

	// Spring Cloud's WebClient retry filter exists once the property is on, but applies to @LoadBalanced ones only.
	@Test
	void namesNoWebClientRetryWhenNoWebClientIsLoadBalanced(CapturedOutput output) {
		runner(url(first), url(second), OnlyALoadBalancedRestClient.class)
			.withPropertyValues("spring.cloud.loadbalancer.retry.enabled=true")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(output).doesNotContain("event=load_balancer_retry_on");
			});
	}

}
