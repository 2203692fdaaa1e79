package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.boot.http.client.JdkClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.SimpleClientHttpRequestFactoryBuilder;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.task.VirtualThreadTaskExecutor;
import org.springframework.test.util.ReflectionTestUtils;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.registry.ImportHttpServices;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class HttpClientResilienceAutoConfigurationTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=500ms",
				"tis.resilience.services.profile.retry.max-attempts=1");

	private static void stubSlowUserinfo() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(5_000)));
	}

	@Test
	void protectsTheRestClientBuilder() {
		this.runner.run((context) -> {
			assertThat(context).hasSingleBean(ResilientHttpClients.class);
			stubSlowUserinfo();
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertTimesOut(() -> client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().body(String.class));
		});
	}

	@Test
	void protectsARestTemplateBeanBuiltWithoutTheBuilder() {
		this.runner.withUserConfiguration(UserBuiltClients.class).run((context) -> {
			stubSlowUserinfo();
			RestTemplate template = context.getBean(RestTemplate.class);
			assertThat(template.getInterceptors()).hasAtLeastOneElementOfType(ResilientClientHttpRequestInterceptor.class);
			assertTimesOut(() -> template.getForObject(server.baseUrl() + "/profile/api/userinfo", String.class));
		});
	}

	@Test
	void protectsARestClientBeanBuiltWithoutTheBuilder() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner
			.withPropertyValues("tis.resilience.services.profile.circuit-breaker.sliding-window-size=2",
					"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=2")
			.withUserConfiguration(UserBuiltClients.class)
			.run((context) -> {
				RestClient client = context.getBean(RestClient.class);
				String url = server.baseUrl() + "/profile/api/userinfo";
				assertThat(client.get().uri(url).retrieve().body(String.class)).isEqualTo("me");
				context.getBean(uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry.class)
					.guard("profile")
					.circuitBreaker()
					.transitionToForcedOpenState();
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> client.get().uri(url).retrieve().body(String.class))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
			});
	}

	@Test
	void protectsHttpServiceClientGroups() {
		this.runner.withUserConfiguration(ProfileGroup.class)
			.withPropertyValues("spring.http.serviceclient.profile.base-url=" + server.baseUrl() + "/profile")
			.run((context) -> {
				stubSlowUserinfo();
				ProfileApi profile = context.getBean(ProfileApi.class);
				assertTimesOut(profile::userinfo);
			});
	}

	@Test
	void addsTheGuardOnlyOnceToAClientBuiltFromTheBuilder() {
		this.runner.run((context) -> {
			RestTemplate template = context.getBean(RestTemplateBuilder.class).build();
			assertThat(template.getInterceptors()).filteredOn(ResilientClientHttpRequestInterceptor.class::isInstance)
				.hasSize(1);
		});
	}

	@Test
	void sendsRequestsWithTheJdkClientByDefault() {
		this.runner.run((context) -> {
			ClientHttpRequestFactoryBuilder<?> builder = context.getBean(ClientHttpRequestFactoryBuilder.class);
			assertThat(builder).isInstanceOf(ServiceClientHttpRequestFactoryBuilder.class);
			assertThat(((ServiceClientHttpRequestFactoryBuilder) builder).delegate())
				.isInstanceOf(JdkClientHttpRequestFactoryBuilder.class);
		});
	}

	@Test
	@EnabledForJreRange(min = JRE.JAVA_21)
	void keepsBootsVirtualThreadsForTheJdkClientItSendsWith() {
		this.runner.withPropertyValues("spring.threads.virtual.enabled=true").run((context) -> {
			// Boot detected the JDK client itself, and so gave it virtual threads: kept.
			ServiceClientHttpRequestFactoryBuilder detected = context.getBean(ServiceClientHttpRequestFactoryBuilder.class);
			assertThat(executorOf(detected.delegate())).isInstanceOf(VirtualThreadTaskExecutor.class);
			// Boot detected another client (Apache HttpClient, say), which the starter swaps for the JDK's.
			@SuppressWarnings("unchecked")
			ClientHttpRequestFactoryBuilderCustomizer<ClientHttpRequestFactoryBuilder<?>> customizer = context
				.getBean("tisResilienceRequestFactoryBuilderCustomizer", ClientHttpRequestFactoryBuilderCustomizer.class);
			ClientHttpRequestFactoryBuilder<?> swapped = customizer.customize(ClientHttpRequestFactoryBuilder.simple());
			assertThat(executorOf(((ServiceClientHttpRequestFactoryBuilder) swapped).delegate()))
				.isInstanceOf(VirtualThreadTaskExecutor.class);
		});
	}

	private static Object executorOf(ClientHttpRequestFactoryBuilder<?> builder) {
		assertThat(builder).isInstanceOf(JdkClientHttpRequestFactoryBuilder.class);
		Object factory = builder.build(HttpClientSettings.defaults());
		java.net.http.HttpClient client = (java.net.http.HttpClient) ReflectionTestUtils.getField(factory, "httpClient");
		return client.executor().orElse(null);
	}

	@Test
	void neverLetsApacheHttpClientRetryByItselfWhenTheApplicationChoosesIt() {
		this.runner.withPropertyValues("spring.http.clients.imperative.factory=http-components",
				"tis.resilience.services.profile.retry.max-attempts=1")
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				for (int status : new int[] { 503, 429 }) {
					server.resetAll();
					server.stubFor(get("/profile/api/userinfo")
						.willReturn(aResponse().withStatus(status).withHeader("Retry-After", "1")));
					assertThatException().isThrownBy(
							() -> client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().body(String.class));
					// Apache's default strategy would have sent it again after the Retry-After second.
					server.verify(1, getRequestedFor(urlEqualTo("/profile/api/userinfo")));
				}
			});
	}

	@Test
	void keepsTheClientTheApplicationChoseAndStillAppliesTheServiceTimeouts() {
		this.runner.withPropertyValues("spring.http.clients.imperative.factory=simple").run((context) -> {
			ServiceClientHttpRequestFactoryBuilder builder = context.getBean(ServiceClientHttpRequestFactoryBuilder.class);
			assertThat(builder.delegate()).isInstanceOf(SimpleClientHttpRequestFactoryBuilder.class);
			stubSlowUserinfo();
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertTimesOut(() -> client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().body(String.class));
		});
	}

	@Test
	void leavesClientsAloneWhenDisabled() {
		this.runner.withPropertyValues("tis.resilience.enabled=false").run((context) -> {
			assertThat(context).doesNotHaveBean(ResilientHttpClients.class);
			assertThat(context.getBean(ClientHttpRequestFactoryBuilder.class))
				.isNotInstanceOf(ServiceClientHttpRequestFactoryBuilder.class);
			RestTemplate template = context.getBean(RestTemplateBuilder.class).build();
			assertThat(template.getInterceptors()).isEmpty();
		});
	}

	@Test
	void backsOffWithoutSpringsRestClient() {
		this.runner.withClassLoader(new FilteredClassLoader(RestClient.class))
			.run((context) -> assertThat(context).doesNotHaveBean(ResilientHttpClients.class));
	}

	private static void assertTimesOut(Runnable call) {
		long start = System.nanoTime();
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(call::run)
			.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
	}

	@Configuration(proxyBeanMethods = false)
	static class UserBuiltClients {

		@Bean
		RestTemplate plainRestTemplate() {
			return new RestTemplate();
		}

		@Bean
		RestClient plainRestClient() {
			return RestClient.create();
		}

	}

	interface ProfileApi {

		@GetExchange("/api/userinfo")
		String userinfo();

	}

	@Configuration(proxyBeanMethods = false)
	@ImportHttpServices(group = "profile", types = ProfileApi.class)
	static class ProfileGroup {

	}

}
