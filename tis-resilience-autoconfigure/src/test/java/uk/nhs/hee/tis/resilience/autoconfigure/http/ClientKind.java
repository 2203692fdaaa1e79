package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.context.ApplicationContext;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.client.support.RestClientAdapter;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.annotation.PostExchange;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;

/**
 * The three ways a service calls another with Spring's blocking clients, each built the way a user
 * builds it: from Boot's {@code RestClient.Builder} or {@code RestTemplateBuilder}, or as an HTTP
 * interface over a {@code RestClient}. Each client also counts the attempts that leave it, with an
 * interceptor placed after the starter's (so a retry counts again).
 */
enum ClientKind {

	REST_CLIENT {
		@Override
		TestClient create(ApplicationContext context) {
			AttemptCounter counter = new AttemptCounter();
			RestClient client = context.getBean(RestClient.Builder.class).requestInterceptor(counter).build();
			return new TestClient(counter) {
				@Override
				String get(String url) {
					return client.get().uri(url).retrieve().body(String.class);
				}

				@Override
				String post(String url, String body) {
					return client.post().uri(url).body(body).retrieve().body(String.class);
				}
			};
		}
	},

	REST_TEMPLATE {
		@Override
		TestClient create(ApplicationContext context) {
			AttemptCounter counter = new AttemptCounter();
			RestTemplate template = context.getBean(RestTemplateBuilder.class).additionalInterceptors(counter).build();
			return new TestClient(counter) {
				@Override
				String get(String url) {
					return template.getForObject(url, String.class);
				}

				@Override
				String post(String url, String body) {
					return template.postForObject(url, body, String.class);
				}
			};
		}
	},

	HTTP_EXCHANGE {
		@Override
		TestClient create(ApplicationContext context) {
			AttemptCounter counter = new AttemptCounter();
			RestClient client = context.getBean(RestClient.Builder.class).requestInterceptor(counter).build();
			DownstreamApi api = HttpServiceProxyFactory.builderFor(RestClientAdapter.create(client))
				.build()
				.createClient(DownstreamApi.class);
			return new TestClient(counter) {
				@Override
				String get(String url) {
					return api.get(URI.create(url));
				}

				@Override
				String post(String url, String body) {
					return api.post(URI.create(url), body);
				}
			};
		}
	};

	abstract TestClient create(ApplicationContext context);

	/** An HTTP interface whose methods take the full URL. */
	interface DownstreamApi {

		@GetExchange
		String get(URI url);

		@PostExchange
		String post(URI url, @RequestBody String body);

	}

	abstract static class TestClient {

		private final AttemptCounter counter;

		TestClient(AttemptCounter counter) {
			this.counter = counter;
		}

		abstract String get(String url);

		abstract String post(String url, String body);

		int attempts() {
			return this.counter.count.get();
		}

	}

	static final class AttemptCounter implements ClientHttpRequestInterceptor {

		final AtomicInteger count = new AtomicInteger();

		@Override
		public org.springframework.http.client.ClientHttpResponse intercept(org.springframework.http.HttpRequest request,
				byte[] body, org.springframework.http.client.ClientHttpRequestExecution execution)
				throws java.io.IOException {
			this.count.incrementAndGet();
			return execution.execute(request, body);
		}

	}

}
